/*
 * libFuzzer harness: the MP spec 1.4 table walk that finds the CPUs (vmm/platform/mptable.c), which
 * searches memory and reads tables the BIOS wrote.  Input: the EBDA's address (8 bytes) and base
 * memory's end (8 bytes), as the caller would pass them, then physical memory from 639 KiB
 * (0x9fc00) on: the last KiB of base memory when its end is unknown (0) or 640 KiB.  The memory is
 * copied into a heap buffer of exactly that size so that ASan sees any read past it; addresses
 * outside it are unreadable.
 * Properties (MP spec 1.4 4.1-4.3, 5): success lists 1..ACPI_MAX_CPUS enabled CPUs, each processor
 * entry at most once, with 8-bit APIC IDs and a floating pointer of revision 1 or 4; `why` is empty
 * unless it is a default configuration (two CPUs, APIC IDs 0 and 1, local APIC at 0xfee00000);
 * failure explains itself and lists nothing; the walk reads only what the accessor grants and ends.
 */
#include <stdbool.h>
#include "fuzz.h"
#include "vmm/mptable.h"

#define FUZZ_BASE 0x9fc00ull
#define MAX_PROCESSOR_ENTRIES (0x10000 / 20) /* a 16-bit table length holds no more */

struct image {
	const uint8_t *p;
	size_t n;
};

static const void *map(void *ctx, uint64_t pa, uint64_t len)
{
	const struct image *m = ctx;
	if (pa < FUZZ_BASE || len > m->n || pa - FUZZ_BASE > m->n - len)
		return NULL;
	return m->p + (pa - FUZZ_BASE);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	const uint64_t ebda_base = fuzz_u64(&in), base_mem_end = fuzz_u64(&in);
	uint8_t *copy = malloc(in.size ? in.size : 1);
	memcpy(copy, in.data, in.size);
	struct image img = { copy, in.size };
	const struct acpi_mem mem = { map, &img };
	static struct acpi_cpus cpus;
	static bool seen[MAX_PROCESSOR_ENTRIES];
	char why[200] = { 0 };

	const int r = mptable_find_cpus(&mem, ebda_base, base_mem_end, &cpus, why, sizeof(why));
	FUZZ_CHECK(r == 0 || r == -1);
	if (r == 0) {
		FUZZ_CHECK(cpus.count >= 1 && cpus.count <= ACPI_MAX_CPUS);
		FUZZ_CHECK(cpus.revision == 1 || cpus.revision == 4);
		FUZZ_CHECK(!cpus.used_xsdt && cpus.online_capable == 0);
		memset(seen, 0, sizeof(seen));
		for (unsigned i = 0; i < cpus.count; i++) {
			const struct acpi_cpu *c = &cpus.cpu[i];
			FUZZ_CHECK(!c->x2apic_entry && c->apic_id <= 0xff);
			FUZZ_CHECK(c->acpi_uid < MAX_PROCESSOR_ENTRIES && !seen[c->acpi_uid]);
			seen[c->acpi_uid] = true;
		}
		if (why[0]) {
			FUZZ_CHECK(strstr(why, "default configuration") != NULL);
			FUZZ_CHECK(cpus.count == 2 && cpus.dropped == 0 && cpus.lapic_base == 0xfee00000u);
			FUZZ_CHECK(cpus.cpu[0].apic_id == 0 && cpus.cpu[1].apic_id == 1);
		}
	} else {
		FUZZ_CHECK(why[0] != 0 && cpus.count == 0 && cpus.dropped == 0);
	}
	free(copy);
	return 0;
}
