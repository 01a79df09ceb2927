/*
 * libFuzzer harness: the Multiboot2 boot-information parser (vmm/loader/boot_mb2.c).
 * The input is the information structure itself, placed in a buffer of exactly
 * its size (so AddressSanitizer sees any read past it) at an 8-byte boundary
 * (Multiboot2 spec 3.6: the structure and its tags are 8-byte aligned).
 * Properties of an accepted structure: at least one and at most
 * BOOTINFO_MAX_MEM_RANGES memory ranges, each of a known bootinfo type; both
 * strings NUL-terminated inside their fields; the ACPI pointer, when set,
 * inside the structure; the guest size consistent with a module tag.
 */
#include <stdbool.h>
#include "fuzz.h"
#include "vmm/boot.h"

#define MB2_HEADER_SIZE   8u
#define MB2_INFO_MAX_SIZE (1u << 20) /* as vmm/loader/boot_mb2.c */

static struct bootinfo bi;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < MB2_HEADER_SIZE)
		return 0; /* the loader guarantees the fixed header */
	uint8_t *mbi = malloc(size); /* malloc: 16-byte aligned */
	memcpy(mbi, data, size);
	/* The structure lies in memory of total_size bytes: clamp a plausible total_size to the input. */
	uint32_t total;
	memcpy(&total, mbi, sizeof(total));
	if (total > size && total <= MB2_INFO_MAX_SIZE) {
		total = (uint32_t)size;
		memcpy(mbi, &total, sizeof(total));
	}

	const char *why = NULL;
	int rc = multiboot2_to_bootinfo(mbi, &bi, &why);
	FUZZ_CHECK(bi.magic == BOOTINFO_MAGIC && bi.source == BI_SOURCE_MULTIBOOT2);
	if (rc != 0) {
		FUZZ_CHECK(rc == -1 && why != NULL && why[0] != '\0');
	} else {
		FUZZ_CHECK(total >= MB2_HEADER_SIZE && total <= size);
		FUZZ_CHECK(bi.mem_count >= 1 && bi.mem_count <= BOOTINFO_MAX_MEM_RANGES);
		for (unsigned i = 0; i < bi.mem_count; i++)
			FUZZ_CHECK(bi.mem[i].type >= BI_MEM_USABLE && bi.mem[i].type <= BI_MEM_BAD);
		FUZZ_CHECK(memchr(bi.cmdline, '\0', sizeof(bi.cmdline)) != NULL);
		FUZZ_CHECK(memchr(bi.loader_name, '\0', sizeof(bi.loader_name)) != NULL);
		if (bi.acpi_rsdp) {
			uintptr_t rsdp = (uintptr_t)bi.acpi_rsdp;
			FUZZ_CHECK(rsdp >= (uintptr_t)mbi + MB2_HEADER_SIZE && rsdp <= (uintptr_t)mbi + total);
		}
		FUZZ_CHECK(bi.guest_image + bi.guest_size <= UINT32_MAX); /* module addresses are 32-bit */
	}
	free(mbi);
	return 0;
}
