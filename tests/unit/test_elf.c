/* Host unit tests for vmm/loader/elf.c: images written by hand into a buffer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/elf.h"

#define MiB (1024ull * 1024)
#define MEM_LIMIT (64 * MiB)

/*
 * The test image: header, 3 program headers (LOAD R+X, NOTE, LOAD R+W with
 * bss), text at file offset 0x1000, data at 0x1100; 0x1180 bytes in all.
 */
#define PT_NOTE     4u
#define TEXT_OFF    0x1000ull
#define TEXT_SIZE   0x100ull
#define TEXT_ADDR   0x100000ull
#define DATA_OFF    0x1100ull
#define DATA_FILESZ 0x80ull
#define DATA_MEMSZ  0x2000ull
#define DATA_ADDR   0x101000ull
#define ENTRY       0x100010ull
#define IMG_SIZE    (DATA_OFF + DATA_FILESZ)
#define NPH         3u
#define MAX_PH      (ELF_MAX_SEGMENTS + 2)

static uint8_t img[0x3000];
static struct elf64_ehdr eh;
static struct elf64_phdr ph[MAX_PH];
static char why[ELF_WHY_LEN];
static struct elf_image out;

/* Write eh and its e_phnum program headers into img. */
static void emit(void)
{
	memcpy(img, &eh, sizeof(eh));
	for (unsigned i = 0; i < eh.e_phnum && i < MAX_PH; i++)
		memcpy(img + ELF64_EHDR_SIZE + i * ELF64_PHDR_SIZE, &ph[i], sizeof(ph[i]));
}

static int setup_image(void **state)
{
	(void)state;
	memset(img, 0, sizeof(img));
	memset(&eh, 0, sizeof(eh));
	memset(ph, 0, sizeof(ph));
	memset(why, 'x', sizeof(why));
	const uint8_t ident[] = { 0x7f, 'E', 'L', 'F', ELF_CLASS64, ELF_DATA2LSB, ELF_EV_CURRENT };
	memcpy(eh.e_ident, ident, sizeof(ident));
	eh.e_type = ELF_ET_EXEC;
	eh.e_machine = ELF_EM_X86_64;
	eh.e_version = ELF_EV_CURRENT;
	eh.e_entry = ENTRY;
	eh.e_phoff = ELF64_EHDR_SIZE;
	eh.e_ehsize = ELF64_EHDR_SIZE;
	eh.e_phentsize = ELF64_PHDR_SIZE;
	eh.e_phnum = NPH;
	ph[0] = (struct elf64_phdr){ ELF_PT_LOAD, ELF_PF_R | ELF_PF_X, TEXT_OFF, TEXT_ADDR, TEXT_ADDR,
				     TEXT_SIZE, TEXT_SIZE, 0x1000 };
	ph[1] = (struct elf64_phdr){ PT_NOTE, ELF_PF_R, 0x200, 0, 0, 0x20, 0x20, 4 };
	ph[2] = (struct elf64_phdr){ ELF_PT_LOAD, ELF_PF_R | ELF_PF_W, DATA_OFF, DATA_ADDR, DATA_ADDR,
				     DATA_FILESZ, DATA_MEMSZ, 0x1000 };
	for (uint64_t i = 0; i < TEXT_SIZE; i++)
		img[TEXT_OFF + i] = (uint8_t)(0x90 + i);
	for (uint64_t i = 0; i < DATA_FILESZ; i++)
		img[DATA_OFF + i] = (uint8_t)(0x11 * i + 1);
	emit();
	return 0;
}

static int parse_size(uint64_t size, uint64_t limit)
{
	emit();
	return elf_parse(img, size, limit, &out, why, sizeof(why));
}

static int parse(void)
{
	return parse_size(IMG_SIZE, MEM_LIMIT);
}

/* Refused, with exactly this sentence. */
static void refused_with(const char *expected)
{
	assert_int_equal(parse(), -1);
	assert_string_equal(why, expected);
}

/* Refused, with a sentence containing this. */
static void refused_containing(const char *part)
{
	assert_int_equal(parse(), -1);
	if (!strstr(why, part))
		fail_msg("\"%s\" does not contain \"%s\"", why, part);
}

static void test_valid(void **state)
{
	(void)state;
	assert_int_equal(parse(), 0);
	assert_string_equal(why, "");
	assert_int_equal(out.nsegs, 2);
	assert_int_equal(out.seg[0].index, 0);
	assert_int_equal(out.seg[0].paddr, TEXT_ADDR);
	assert_int_equal(out.seg[0].offset, TEXT_OFF);
	assert_int_equal(out.seg[0].filesz, TEXT_SIZE);
	assert_int_equal(out.seg[0].flags, ELF_PF_R | ELF_PF_X);
	assert_int_equal(out.seg[1].index, 2);
	assert_int_equal(out.seg[1].paddr, DATA_ADDR);
	assert_int_equal(out.seg[1].memsz, DATA_MEMSZ);
	assert_int_equal(out.entry, ENTRY);
	assert_int_equal(out.entry_gpa, ENTRY);
	assert_int_equal(out.lowest, TEXT_ADDR);
	assert_int_equal(out.highest, DATA_ADDR + DATA_MEMSZ);
	/* Exactly at the memory limit is fine. */
	assert_int_equal(parse_size(IMG_SIZE, DATA_ADDR + DATA_MEMSZ), 0);
	/* An unaligned image buffer is fine too. */
	static uint8_t shifted[sizeof(img) + 1];
	memcpy(shifted + 1, img, sizeof(img));
	assert_int_equal(elf_parse(shifted + 1, IMG_SIZE, MEM_LIMIT, &out, why, sizeof(why)), 0);
}

static void test_entry_through_vaddr(void **state)
{
	(void)state;
	/* A higher-half link address loaded low: entry is virtual, entry_gpa physical. */
	const uint64_t high = 0xffffffff80000000ull;
	ph[0].p_vaddr = high + TEXT_ADDR;
	eh.e_entry = high + ENTRY;
	assert_int_equal(parse(), 0);
	assert_int_equal(out.entry, high + ENTRY);
	assert_int_equal(out.entry_gpa, ENTRY);
	/* The physical address of the entry does not count. */
	eh.e_entry = ENTRY;
	refused_with("entry point 0x100010 is not inside a loaded executable segment");
}

static void test_bad_headers(void **state)
{
	(void)state;
	for (unsigned i = 0; i < ELF_MAG_LEN; i++) {
		setup_image(NULL);
		eh.e_ident[i] ^= 0x20;
		refused_with("not an ELF image: the first four bytes are not 7f 45 4c 46");
	}
	setup_image(NULL);
	eh.e_ident[ELF_EI_CLASS] = 1;
	refused_with("not a 64-bit ELF image: EI_CLASS is 1, expected 2");
	setup_image(NULL);
	eh.e_ident[ELF_EI_DATA] = 2;
	refused_with("not a little-endian ELF image: EI_DATA is 2, expected 1");
	setup_image(NULL);
	eh.e_ident[ELF_EI_VERSION] = 0;
	refused_with("unsupported ELF version 0/1, expected 1");
	setup_image(NULL);
	eh.e_version = 2;
	refused_containing("unsupported ELF version");
	setup_image(NULL);
	eh.e_machine = 3; /* EM_386 */
	refused_with("not an x86-64 image: e_machine is 3, expected 62");
	setup_image(NULL);
	eh.e_type = 3; /* ET_DYN */
	refused_with("not an executable: e_type is 3, expected 2 (ET_EXEC)");
	setup_image(NULL);
	eh.e_phentsize = 32;
	refused_with("program header entries are 32 bytes, expected 56");
}

static void test_truncated_everywhere(void **state)
{
	(void)state;
	/* Every proper prefix of the image is refused as truncated. */
	for (uint64_t size = 0; size < IMG_SIZE; size++) {
		assert_int_equal(parse_size(size, MEM_LIMIT), -1);
		if (strncmp(why, "truncated: ", 11) != 0)
			fail_msg("size %llu: \"%s\"", (unsigned long long)size, why);
	}
	assert_int_equal(parse_size(0, MEM_LIMIT), -1);
	assert_string_equal(why, "truncated: the ELF header needs 64 bytes but the image has 0 bytes");
	assert_int_equal(parse_size(63, MEM_LIMIT), -1);
	assert_string_equal(why, "truncated: the ELF header needs 64 bytes but the image has 63 bytes");
	assert_int_equal(parse_size(64, MEM_LIMIT), -1);
	assert_string_equal(why, "truncated: program headers end at byte 232 but the image has 64 bytes");
	assert_int_equal(parse_size(231, MEM_LIMIT), -1);
	assert_string_equal(why, "truncated: program headers end at byte 232 but the image has 231 bytes");
	assert_int_equal(parse_size(232, MEM_LIMIT), -1);
	assert_string_equal(why, "truncated: segment 0 data ends at byte 4352 but the image has 232 bytes");
	assert_int_equal(parse_size(TEXT_OFF + TEXT_SIZE, MEM_LIMIT), -1);
	assert_string_equal(why, "truncated: segment 2 data ends at byte 4480 but the image has 4352 bytes");
	assert_int_equal(parse_size(IMG_SIZE - 1, MEM_LIMIT), -1);
	assert_string_equal(why, "truncated: segment 2 data ends at byte 4480 but the image has 4479 bytes");
	assert_int_equal(parse_size(IMG_SIZE, MEM_LIMIT), 0);
	/* No image at all. */
	assert_int_equal(elf_parse(NULL, 100, MEM_LIMIT, &out, why, sizeof(why)), -1);
	assert_string_equal(why, "truncated: the ELF header needs 64 bytes but the image has 0 bytes");
}

static void test_program_header_table_bounds(void **state)
{
	(void)state;
	eh.e_phoff = IMG_SIZE;
	refused_with("truncated: program headers end at byte 4648 but the image has 4480 bytes");
	eh.e_phoff = UINT64_MAX - 10;
	refused_with("program header table at offset 0xfffffffffffffff5 (168 bytes) overflows");
	eh.e_phoff = UINT64_MAX - 168; /* ends at 2^64 - 1: no overflow, but far outside */
	refused_containing("truncated: program headers end at byte 18446744073709551615 ");
}

static void test_segment_bounds(void **state)
{
	(void)state;
	/* File data past the end of the image. */
	ph[2].p_filesz = DATA_FILESZ + 1;
	refused_with("truncated: segment 2 data ends at byte 4481 but the image has 4480 bytes");
	setup_image(NULL);
	ph[0].p_offset = IMG_SIZE;
	refused_with("truncated: segment 0 data ends at byte 4736 but the image has 4480 bytes");
	/* File size larger than memory size. */
	setup_image(NULL);
	ph[0].p_filesz = 0x200;
	refused_with("segment 0: file size 0x200 exceeds memory size 0x100");
	/* Beyond guest memory. */
	setup_image(NULL);
	ph[2].p_paddr = MEM_LIMIT - 0x1000;
	refused_with("segment 2 [0x3fff000-0x4001000) does not fit in guest memory [0x0-0x4000000)");
	/* Overflows near 2^64: file offset, physical end, virtual end. */
	setup_image(NULL);
	ph[0].p_offset = UINT64_MAX - 0x10;
	refused_with("segment 0: file offset 0xffffffffffffffef + file size 0x100 overflows");
	setup_image(NULL);
	ph[2].p_paddr = UINT64_MAX - 0xfff;
	assert_int_equal(parse_size(IMG_SIZE, UINT64_MAX), -1);
	assert_string_equal(why, "segment 2: physical address 0xfffffffffffff000 + memory size 0x2000 overflows");
	setup_image(NULL);
	ph[2].p_vaddr = UINT64_MAX - 0xfff;
	refused_with("segment 2: virtual address 0xfffffffffffff000 + memory size 0x2000 overflows");
	/* A segment ending at 2^64 - 1 does not overflow (but does not fit below the limit); at 2^64 it does. */
	setup_image(NULL);
	ph[2].p_paddr = UINT64_MAX - DATA_MEMSZ;
	refused_containing("does not fit in guest memory");
	ph[2].p_paddr = 0ull - DATA_MEMSZ;
	refused_containing("physical address 0xffffffffffffe000 + memory size 0x2000 overflows");
	/* Non-LOAD headers are not checked. */
	setup_image(NULL);
	ph[1].p_offset = UINT64_MAX;
	ph[1].p_filesz = UINT64_MAX;
	assert_int_equal(parse(), 0);
}

static void test_overlap(void **state)
{
	(void)state;
	ph[2].p_paddr = TEXT_ADDR + 0x80;
	refused_with("segment 2 [0x100080-0x102080) overlaps segment 0 [0x100000-0x100100)");
	/* Segment 2 entirely below segment 0, overlapping its start. */
	ph[2].p_paddr = TEXT_ADDR - 0x1000;
	ph[2].p_memsz = 0x1001;
	refused_with("segment 2 [0xff000-0x100001) overlaps segment 0 [0x100000-0x100100)");
	/* Adjacent is fine. */
	ph[2].p_paddr = TEXT_ADDR + TEXT_SIZE;
	ph[2].p_memsz = DATA_MEMSZ;
	assert_int_equal(parse(), 0);
	ph[2].p_paddr = TEXT_ADDR - DATA_MEMSZ;
	assert_int_equal(parse(), 0);
	/* An empty segment overlaps nothing. */
	ph[2].p_paddr = TEXT_ADDR + 0x10;
	ph[2].p_filesz = 0;
	ph[2].p_memsz = 0;
	assert_int_equal(parse(), 0);
	assert_int_equal(out.nsegs, 2);
}

static void test_entry(void **state)
{
	(void)state;
	eh.e_entry = DATA_ADDR; /* inside a loaded, non-executable segment */
	refused_with("entry point 0x101000 is not inside a loaded executable segment");
	eh.e_entry = TEXT_ADDR + TEXT_SIZE; /* one past the end */
	refused_with("entry point 0x100100 is not inside a loaded executable segment");
	eh.e_entry = TEXT_ADDR - 1;
	refused_containing("not inside a loaded executable segment");
	eh.e_entry = TEXT_ADDR + TEXT_SIZE - 1;
	assert_int_equal(parse(), 0);
	eh.e_entry = TEXT_ADDR;
	assert_int_equal(parse(), 0);
	/* An executable bss counts (memsz, not filesz). */
	ph[2].p_flags |= ELF_PF_X;
	eh.e_entry = DATA_ADDR + DATA_MEMSZ - 1;
	assert_int_equal(parse(), 0);
	assert_int_equal(out.entry_gpa, DATA_ADDR + DATA_MEMSZ - 1);
}

static void test_no_segments(void **state)
{
	(void)state;
	ph[0].p_type = PT_NOTE;
	ph[2].p_type = PT_NOTE;
	refused_with("no PT_LOAD segment: nothing to load");
	setup_image(NULL);
	eh.e_phnum = 0;
	refused_with("no PT_LOAD segment: nothing to load");
}

static void test_too_many_segments(void **state)
{
	(void)state;
	/* ELF_MAX_SEGMENTS + 1 small PT_LOAD segments (headers end well before the text). */
	eh.e_phnum = ELF_MAX_SEGMENTS + 1;
	eh.e_entry = TEXT_ADDR;
	for (unsigned i = 0; i < ELF_MAX_SEGMENTS + 1; i++)
		ph[i] = (struct elf64_phdr){ ELF_PT_LOAD, ELF_PF_R | ELF_PF_X, TEXT_OFF, TEXT_ADDR + i * 0x1000,
					     TEXT_ADDR + i * 0x1000, 0x10, 0x10, 0x1000 };
	refused_with("too many PT_LOAD segments: more than 16");
	eh.e_phnum = ELF_MAX_SEGMENTS;
	assert_int_equal(parse(), 0);
	assert_int_equal(out.nsegs, ELF_MAX_SEGMENTS);
}

static void test_why_buffer(void **state)
{
	(void)state;
	eh.e_machine = 3;
	emit();
	char small[8];
	memset(small, 'x', sizeof(small));
	assert_int_equal(elf_parse(img, IMG_SIZE, MEM_LIMIT, &out, small, sizeof(small)), -1);
	assert_string_equal(small, "not an ");
	assert_int_equal(elf_parse(img, IMG_SIZE, MEM_LIMIT, &out, NULL, 0), -1);
	small[0] = 'q';
	assert_int_equal(elf_parse(img, IMG_SIZE, MEM_LIMIT, &out, small, 0), -1);
	assert_int_equal(small[0], 'q');
	char one[1];
	assert_int_equal(elf_parse(img, IMG_SIZE, MEM_LIMIT, &out, one, sizeof(one)), -1);
	assert_int_equal(one[0], '\0');
}

static void test_longest_messages_fit(void **state)
{
	(void)state;
	/* Four 64-bit numbers in one sentence still fit in ELF_WHY_LEN. */
	ph[0].p_paddr = 0xfffffffffff00000ull;
	ph[2].p_paddr = 0xfffffffffff00080ull;
	assert_int_equal(parse_size(IMG_SIZE, UINT64_MAX), -1);
	assert_string_equal(why, "segment 2 [0xfffffffffff00080-0xfffffffffff02080) overlaps segment 0 "
				 "[0xfffffffffff00000-0xfffffffffff00100)");
	assert_true(strlen(why) + 1 < sizeof(why));
	setup_image(NULL);
	ph[0].p_paddr = 0xfffffffffff00000ull;
	assert_int_equal(parse_size(IMG_SIZE, 0xffffffffffefffffull), -1);
	assert_true(strlen(why) + 1 < sizeof(why));
	setup_image(NULL);
	ph[0].p_offset = 0xfffffffffff00000ull;
	assert_int_equal(parse(), -1);
	assert_true(strlen(why) + 1 < sizeof(why));
}

/* A fake guest memory for elf_load. */
#define GMEM (DATA_ADDR + DATA_MEMSZ + 0x1000)
static uint8_t gmem[GMEM];
static unsigned n_write, n_zero;
static int fail_write;

static int mem_write(void *ctx, uint64_t gpa, const void *src, uint64_t len)
{
	assert_ptr_equal(ctx, gmem);
	n_write++;
	if (fail_write)
		return fail_write;
	assert_true(gpa <= GMEM && len <= GMEM - gpa);
	memcpy(gmem + gpa, src, len);
	return 0;
}

static int mem_zero(void *ctx, uint64_t gpa, uint64_t len)
{
	assert_ptr_equal(ctx, gmem);
	n_zero++;
	assert_true(gpa <= GMEM && len <= GMEM - gpa);
	memset(gmem + gpa, 0, len);
	return 0;
}

static void test_load(void **state)
{
	(void)state;
	assert_int_equal(parse_size(IMG_SIZE, GMEM), 0);
	memset(gmem, 0xaa, sizeof(gmem));
	n_write = n_zero = 0;
	fail_write = 0;
	assert_int_equal(elf_load(img, &out, mem_write, mem_zero, gmem), 0);
	assert_int_equal(n_write, 2);
	assert_int_equal(n_zero, 1); /* text has no bss */

	static uint8_t expect[GMEM];
	memset(expect, 0xaa, sizeof(expect));
	memcpy(expect + TEXT_ADDR, img + TEXT_OFF, TEXT_SIZE);
	memcpy(expect + DATA_ADDR, img + DATA_OFF, DATA_FILESZ);
	memset(expect + DATA_ADDR + DATA_FILESZ, 0, DATA_MEMSZ - DATA_FILESZ);
	assert_memory_equal(gmem, expect, GMEM);
	assert_int_equal(gmem[TEXT_ADDR], 0x90);
	assert_int_equal(gmem[DATA_ADDR + 1], 0x12);
	assert_int_equal(gmem[DATA_ADDR + DATA_FILESZ], 0);
	assert_int_equal(gmem[DATA_ADDR + DATA_MEMSZ], 0xaa);

	/* A callback error stops the load and comes back. */
	n_write = n_zero = 0;
	fail_write = -7;
	assert_int_equal(elf_load(img, &out, mem_write, mem_zero, gmem), -7);
	assert_int_equal(n_write, 1);
	assert_int_equal(n_zero, 0);
	fail_write = 0;

	/* A pure-bss segment: no write, only a zero. */
	setup_image(NULL);
	ph[2].p_filesz = 0;
	assert_int_equal(parse_size(IMG_SIZE, GMEM), 0);
	n_write = n_zero = 0;
	assert_int_equal(elf_load(img, &out, mem_write, mem_zero, gmem), 0);
	assert_int_equal(n_write, 1);
	assert_int_equal(n_zero, 1);
}

/* The same image as ELF32 (i386): headers narrowed, p_flags in its ELF32 place. */
static void emit32(uint16_t machine)
{
	struct elf32_ehdr e = {
		.e_type = ELF_ET_EXEC, .e_machine = machine, .e_version = ELF_EV_CURRENT,
		.e_entry = (uint32_t)eh.e_entry, .e_phoff = ELF32_EHDR_SIZE, .e_ehsize = ELF32_EHDR_SIZE,
		.e_phentsize = ELF32_PHDR_SIZE, .e_phnum = eh.e_phnum,
	};
	memcpy(e.e_ident, eh.e_ident, sizeof(e.e_ident));
	e.e_ident[ELF_EI_CLASS] = ELF_CLASS32;
	memset(img, 0, ELF64_EHDR_SIZE + NPH * ELF64_PHDR_SIZE);
	memcpy(img, &e, sizeof(e));
	for (unsigned i = 0; i < NPH; i++) {
		struct elf32_phdr p = {
			.p_type = ph[i].p_type, .p_offset = (uint32_t)ph[i].p_offset, .p_vaddr = (uint32_t)ph[i].p_vaddr,
			.p_paddr = (uint32_t)ph[i].p_paddr, .p_filesz = (uint32_t)ph[i].p_filesz,
			.p_memsz = (uint32_t)ph[i].p_memsz, .p_flags = ph[i].p_flags, .p_align = (uint32_t)ph[i].p_align,
		};
		memcpy(img + ELF32_EHDR_SIZE + i * ELF32_PHDR_SIZE, &p, sizeof(p));
	}
}

static void test_elf32(void **state)
{
	(void)state;
	emit32(ELF_EM_386);
	const unsigned both = ELF_ACCEPT_32 | ELF_ACCEPT_64;
	assert_int_equal(elf_parse_classes(img, IMG_SIZE, MEM_LIMIT, both, &out, why, sizeof(why)), 0);
	assert_int_equal(out.elf_class, ELF_CLASS32);
	assert_int_equal(out.nsegs, 2);
	assert_int_equal(out.entry_gpa, ENTRY);
	assert_int_equal(out.seg[1].paddr, DATA_ADDR);
	assert_int_equal(out.seg[1].memsz, DATA_MEMSZ);
	assert_int_equal(out.seg[1].flags, ELF_PF_R | ELF_PF_W);
	/* elf_parse() stays ELF64-only. */
	assert_int_equal(elf_parse(img, IMG_SIZE, MEM_LIMIT, &out, why, sizeof(why)), -1);
	assert_string_equal(why, "not a 64-bit ELF image: EI_CLASS is 1, expected 2");
	/* An ELF32 image must be i386; the ELF32 checks are the ELF64 ones. */
	emit32(ELF_EM_X86_64);
	assert_int_equal(elf_parse_classes(img, IMG_SIZE, MEM_LIMIT, both, &out, why, sizeof(why)), -1);
	assert_string_equal(why, "not an i386 image: e_machine is 62, expected 3");
	emit32(ELF_EM_386);
	assert_int_equal(elf_parse_classes(img, IMG_SIZE, DATA_ADDR, both, &out, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "does not fit in guest memory"));
	img[ELF_EI_CLASS] = 3;
	assert_int_equal(elf_parse_classes(img, IMG_SIZE, MEM_LIMIT, both, &out, why, sizeof(why)), -1);
	assert_string_equal(why, "unsupported ELF class: EI_CLASS is 3, expected 1 (ELF32) or 2 (ELF64)");
	/* A 52-byte ELF32 header fits where a 64-byte ELF64 one would not. */
	emit32(ELF_EM_386);
	assert_int_equal(elf_parse_classes(img, 60, MEM_LIMIT, both, &out, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "truncated: program headers end at byte"));
}

#define T(f) cmocka_unit_test_setup(f, setup_image)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_valid),
		T(test_entry_through_vaddr),
		T(test_bad_headers),
		T(test_truncated_everywhere),
		T(test_program_header_table_bounds),
		T(test_segment_bounds),
		T(test_overlap),
		T(test_entry),
		T(test_no_segments),
		T(test_too_many_segments),
		T(test_why_buffer),
		T(test_longest_messages_fit),
		T(test_load),
		T(test_elf32),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
