/*
 * libFuzzer harness: the Multiboot1 image checks (vmm/loader/boot_mb1.c, Multiboot 0.6.96).
 * Input: 4 bytes of guest memory size (mem_limit, in units of 256 bytes), then the image, placed in
 * a buffer of exactly its size (AddressSanitizer sees any read past it).
 * Properties of an accepted image: the header 4-byte aligned in the first 8192 bytes with a right
 * checksum; 1..ELF_MAX_SEGMENTS segments, each with filesz <= memsz, file data inside the image,
 * [paddr, paddr + memsz) inside guest memory and outside the reserved ranges; the entry point below
 * 4 GiB and inside a segment.  A refused image has a reason, NUL-terminated.  mb2_header_find() on
 * the same bytes reads inside them and reports an offset 8-byte aligned in the first 32 KiB.
 */
#include <stdbool.h>
#include "fuzz.h"
#include "vmm/multiboot1.h"
#include "vmm/multiboot2.h"

#define MEM_LIMIT_BYTES 4u
#define MEM_LIMIT_UNIT  256u

static const struct mb1_range reserved[] = {
	{ 0x8000, 0x1000, "boot information page" },
	{ 0x9f000, 0x61000, "reserved range" },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	const uint64_t mem_limit = fuzz_take(&in, MEM_LIMIT_BYTES) * MEM_LIMIT_UNIT;
	uint8_t *image = malloc(in.size ? in.size : 1);
	static struct mb1_image out;
	char why[MB1_WHY_LEN];

	memcpy(image, in.data, in.size);
	memset(why, 'x', sizeof(why));
	if (mb1_parse(image, in.size, mem_limit, reserved, 2, &out, why, sizeof(why)) == 0) {
		FUZZ_CHECK(out.header_offset % MB1_HEADER_ALIGN == 0);
		FUZZ_CHECK(out.header_offset + MB1_HEADER_BASE_SIZE <= MB1_SEARCH_LIMIT);
		FUZZ_CHECK((uint32_t)(out.header.magic + out.header.flags + out.header.checksum) == 0);
		FUZZ_CHECK(out.load.nsegs >= 1 && out.load.nsegs <= ELF_MAX_SEGMENTS);
		bool entry_inside = false;
		for (unsigned i = 0; i < out.load.nsegs; i++) {
			const struct elf_segment *s = &out.load.seg[i];
			FUZZ_CHECK(s->filesz <= s->memsz);
			FUZZ_CHECK(s->offset <= in.size && s->filesz <= in.size - s->offset);
			FUZZ_CHECK(s->paddr <= mem_limit && s->memsz <= mem_limit - s->paddr);
			for (unsigned r = 0; r < 2; r++)
				FUZZ_CHECK(!s->memsz || s->paddr + s->memsz <= reserved[r].base ||
					   s->paddr >= reserved[r].base + reserved[r].size);
			entry_inside |= out.load.entry_gpa >= s->paddr && out.load.entry_gpa - s->paddr < s->memsz;
		}
		FUZZ_CHECK(entry_inside);
		FUZZ_CHECK(out.load.entry_gpa < (1ull << 32));
	} else {
		FUZZ_CHECK(memchr(why, 0, sizeof(why)) != NULL);
		FUZZ_CHECK(why[0] != 0);
	}
	uint32_t off = 0;
	if (mb2_header_find(image, in.size, &off, why, sizeof(why)) == 1)
		FUZZ_CHECK(off % MB2_HEADER_ALIGN == 0 && off + MB2_HEADER_FIXED_SIZE <= MB2_HEADER_SEARCH_LIMIT);
	free(image);
	return 0;
}
