/*
 * libFuzzer harness: the ACPI table walk that finds the CPUs (vmm/platform/acpi.c), which reads
 * tables the firmware wrote.  Input: physical memory from address 0x1000 on, with the RSDP at
 * 0x1000 (the first byte), copied into a heap buffer of exactly that size so that ASan sees any
 * read past it; addresses outside it are unreadable.
 * Properties (ACPI 6.5 5.2.5-5.2.12): success lists 1..ACPI_MAX_CPUS enabled CPUs and says which
 * root table it used (the XSDT only with an RSDP of revision 2 or more); failure explains itself;
 * the walk reads only what the accessor grants and always ends.
 */
#include "fuzz.h"
#include "vmm/acpi.h"

#define FUZZ_BASE 0x1000ull

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
	uint8_t *copy = malloc(size ? size : 1);
	memcpy(copy, data, size);
	struct image img = { copy, size };
	const struct acpi_mem mem = { map, &img };
	static struct acpi_cpus cpus;
	char why[160] = { 0 };

	const int r = acpi_find_cpus(&mem, FUZZ_BASE, &cpus, why, sizeof(why));
	FUZZ_CHECK(r == 0 || r == -1);
	if (r == 0) {
		FUZZ_CHECK(cpus.count >= 1 && cpus.count <= ACPI_MAX_CPUS);
		FUZZ_CHECK(!cpus.used_xsdt || cpus.revision >= 2);
		FUZZ_CHECK(why[0] == 0);
	} else {
		FUZZ_CHECK(why[0] != 0 && cpus.count == 0);
	}
	free(copy);
	return 0;
}
