/*
 * libFuzzer harness: the UEFI loader's memory-map translation (boot/efi/memmap.c),
 * compiled as is over the host stand-ins of tests/efi_host/efi_host.h.
 * Input: 2 bytes of DescriptorSize, then the map GetMemoryMap() returned (in a
 * buffer of exactly its size, so AddressSanitizer sees any read past it).
 * As boot/efi/main.c does, a map is translated only when memmap_desc_size_ok().
 * Properties: the result says whether the ranges fit (TRUE iff needed <=
 * BOOTINFO_MAX_MEM_RANGES) and mem_count is min(needed, the maximum); every
 * range is non-empty, does not run past 2^64, has a bootinfo type, and does
 * not touch the previous one when both have one type (those are merged); and
 * the ranges hold exactly the bytes of the well-formed descriptors.
 */
#include <stdbool.h>
#include "fuzz.h"
#include "efi_host.h"
#include "../../boot/efi/memmap.c"

static struct bootinfo bi;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	const UINTN desc_size = fuzz_u16(&in);
	if (!memmap_desc_size_ok(desc_size)) {
		FUZZ_CHECK(desc_size < sizeof(EFI_MEMORY_DESCRIPTOR) || desc_size % sizeof(UINT64) != 0);
		return 0;
	}
	/* The firmware's buffer: 8-byte aligned (malloc), exactly the map. */
	UINT8 *map = malloc(in.size ? in.size : 1);
	memcpy(map, in.data, in.size);

	/* The expected bytes: every descriptor that is non-empty and ends within 64 bits. */
	uint64_t expect = 0;
	bool expect_overflow = false;
	for (UINTN off = 0; off + desc_size <= in.size; off += desc_size) {
		EFI_MEMORY_DESCRIPTOR d;
		memcpy(&d, map + off, sizeof(d));
		if (d.NumberOfPages == 0 || d.NumberOfPages > UINT64_MAX / EFI_PAGE_SIZE)
			continue;
		const uint64_t len = d.NumberOfPages * EFI_PAGE_SIZE;
		if (len > UINT64_MAX - d.PhysicalStart)
			continue;
		expect_overflow |= len > UINT64_MAX - expect;
		expect += len;
	}

	UINTN needed = 0;
	memset(&bi, 0x5a, sizeof(bi));
	const BOOLEAN fits = memmap_to_bootinfo(map, in.size, desc_size, &bi, &needed);
	FUZZ_CHECK(fits == (needed <= BOOTINFO_MAX_MEM_RANGES));
	FUZZ_CHECK(bi.mem_count == (needed < BOOTINFO_MAX_MEM_RANGES ? needed : BOOTINFO_MAX_MEM_RANGES));
	FUZZ_CHECK(needed <= in.size / desc_size);
	uint64_t total = 0;
	bool total_overflow = false;
	for (unsigned i = 0; i < bi.mem_count; i++) {
		const struct bootinfo_mem_range *r = &bi.mem[i];
		FUZZ_CHECK(r->length > 0 && r->length <= UINT64_MAX - r->base);
		FUZZ_CHECK(r->type >= BI_MEM_USABLE && r->type <= BI_MEM_MMIO && r->reserved == 0);
		if (i > 0)
			FUZZ_CHECK(bi.mem[i - 1].type != r->type || bi.mem[i - 1].base + bi.mem[i - 1].length != r->base);
		total_overflow |= r->length > UINT64_MAX - total;
		total += r->length;
	}
	if (fits && !expect_overflow)
		FUZZ_CHECK(!total_overflow && total == expect);
	free(map);
	return 0;
}
