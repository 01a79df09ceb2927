/*
 * Host unit tests for vmm/loader/boot_mb1.c: Multiboot1 kernel images (Multiboot Specification
 * 0.6.96), built by hand in a buffer: the header (3.1) in a flat image with the address fields
 * (3.1.3, the "a.out kludge") or in an ELF32/ELF64 executable, and the boot information (3.3).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/multiboot1.h"

#define MiB (1024ull * 1024ull)
#define MEM_LIMIT (64 * MiB)
#define LOAD_ADDR 0x100000u     /* the image's load address (1 MiB) */
#define HDR_OFF   0x40u         /* the header's offset in the flat image */
#define FILE_SIZE 0x2000u       /* the flat image's size */
#define BSS_SIZE  0x3000u
#define ENTRY_OFF 0x100u
#define TEXT_OFF  0x1000u       /* the ELF images' text, at file offset 0x1000 */
#define TEXT_SIZE 0x800u

static uint8_t img[0x4000];
static char why[MB1_WHY_LEN];
static struct mb1_image out;

static const struct mb1_range RESERVED[] = {
	{ 0x8000, 0x1000, "boot information page" },
	{ 0x9f000, 0x61000, "reserved range" },
};
#define NR_RESERVED (sizeof(RESERVED) / sizeof(RESERVED[0]))

static void put32(size_t off, uint32_t v) { memcpy(img + off, &v, sizeof(v)); }

/* A header with the given flags and a right checksum at `off`; the address fields when flag 16 is set. */
static void put_header(size_t off, uint32_t flags)
{
	put32(off, MB1_HEADER_MAGIC);
	put32(off + 4, flags);
	put32(off + 8, (uint32_t)-(MB1_HEADER_MAGIC + flags));
	if (flags & MB1_HEADER_AOUT_KLUDGE) {
		put32(off + 12, LOAD_ADDR + (uint32_t)off);         /* header_addr */
		put32(off + 16, LOAD_ADDR);                         /* load_addr */
		put32(off + 20, LOAD_ADDR + FILE_SIZE);             /* load_end_addr */
		put32(off + 24, LOAD_ADDR + FILE_SIZE + BSS_SIZE);  /* bss_end_addr */
		put32(off + 28, LOAD_ADDR + ENTRY_OFF);             /* entry_addr */
	}
}

/* The flat (a.out kludge) image: header at HDR_OFF, FILE_SIZE bytes. */
static void build_aout(void)
{
	memset(img, 0, sizeof(img));
	put_header(HDR_OFF, MB1_HEADER_PAGE_ALIGN | MB1_HEADER_MEMORY_INFO | MB1_HEADER_AOUT_KLUDGE);
}

static int parse(uint64_t size)
{
	memset(why, 'x', sizeof(why));
	why[sizeof(why) - 1] = 0;
	return mb1_parse(img, size, MEM_LIMIT, RESERVED, NR_RESERVED, &out, why, sizeof(why));
}

static void refused_with(uint64_t size, const char *fragment)
{
	assert_int_equal(parse(size), -1);
	if (!strstr(why, fragment))
		print_message("reason '%s' does not mention '%s'\n", why, fragment);
	assert_non_null(strstr(why, fragment));
}

/* An ELF image (class 32 or 64) with one R+X PT_LOAD segment at LOAD_ADDR, and the header in its text. */
static void build_elf(unsigned elf_class, uint32_t entry, uint32_t paddr)
{
	memset(img, 0, sizeof(img));
	if (elf_class == ELF_CLASS32) {
		struct elf32_ehdr eh = { .e_type = ELF_ET_EXEC, .e_machine = ELF_EM_386, .e_version = ELF_EV_CURRENT,
					 .e_entry = entry, .e_phoff = ELF32_EHDR_SIZE, .e_ehsize = ELF32_EHDR_SIZE,
					 .e_phentsize = ELF32_PHDR_SIZE, .e_phnum = 1 };
		struct elf32_phdr ph = { ELF_PT_LOAD, TEXT_OFF, paddr, paddr, TEXT_SIZE, TEXT_SIZE + BSS_SIZE,
					 ELF_PF_R | ELF_PF_X, 0x1000 };
		const uint8_t ident[] = { 0x7f, 'E', 'L', 'F', ELF_CLASS32, ELF_DATA2LSB, ELF_EV_CURRENT };
		memcpy(eh.e_ident, ident, sizeof(ident));
		memcpy(img, &eh, sizeof(eh));
		memcpy(img + ELF32_EHDR_SIZE, &ph, sizeof(ph));
	} else {
		struct elf64_ehdr eh = { .e_type = ELF_ET_EXEC, .e_machine = ELF_EM_X86_64, .e_version = ELF_EV_CURRENT,
					 .e_entry = entry, .e_phoff = ELF64_EHDR_SIZE, .e_ehsize = ELF64_EHDR_SIZE,
					 .e_phentsize = ELF64_PHDR_SIZE, .e_phnum = 1 };
		struct elf64_phdr ph = { ELF_PT_LOAD, ELF_PF_R | ELF_PF_X, TEXT_OFF, paddr, paddr, TEXT_SIZE,
					 TEXT_SIZE + BSS_SIZE, 0x1000 };
		const uint8_t ident[] = { 0x7f, 'E', 'L', 'F', ELF_CLASS64, ELF_DATA2LSB, ELF_EV_CURRENT };
		memcpy(eh.e_ident, ident, sizeof(ident));
		memcpy(img, &eh, sizeof(eh));
		memcpy(img + ELF64_EHDR_SIZE, &ph, sizeof(ph));
	}
	put_header(TEXT_OFF, MB1_HEADER_PAGE_ALIGN | MB1_HEADER_MEMORY_INFO);
}

static void test_aout_kludge_valid(void **state)
{
	(void)state;
	build_aout();
	assert_int_equal(parse(FILE_SIZE), 0);
	assert_string_equal(why, "");
	assert_int_equal(out.header_offset, HDR_OFF);
	assert_int_equal(out.aout_kludge, 1);
	assert_int_equal(out.load.nsegs, 1);
	assert_int_equal(out.load.seg[0].paddr, LOAD_ADDR);
	assert_int_equal(out.load.seg[0].offset, 0);
	assert_int_equal(out.load.seg[0].filesz, FILE_SIZE);
	assert_int_equal(out.load.seg[0].memsz, FILE_SIZE + BSS_SIZE);
	assert_int_equal(out.load.entry_gpa, LOAD_ADDR + ENTRY_OFF);

	/* load_end_addr 0: the rest of the file; bss_end_addr 0: no bss (3.1.3). */
	put32(HDR_OFF + 20, 0);
	put32(HDR_OFF + 24, 0);
	assert_int_equal(parse(FILE_SIZE - 0x10), 0);
	assert_int_equal(out.load.seg[0].filesz, FILE_SIZE - 0x10);
	assert_int_equal(out.load.seg[0].memsz, FILE_SIZE - 0x10);

	/* load_addr below the header's address by less than its offset: the file is loaded from there. */
	build_aout();
	put32(HDR_OFF + 16, LOAD_ADDR + 0x20);
	put32(HDR_OFF + 20, LOAD_ADDR + FILE_SIZE);
	assert_int_equal(parse(FILE_SIZE), 0);
	assert_int_equal(out.load.seg[0].offset, 0x20);
	assert_int_equal(out.load.seg[0].filesz, FILE_SIZE - 0x20);
}

static void test_elf32_valid(void **state)
{
	(void)state;
	build_elf(ELF_CLASS32, LOAD_ADDR + 0x10, LOAD_ADDR);
	assert_int_equal(parse(TEXT_OFF + TEXT_SIZE), 0);
	assert_int_equal(out.aout_kludge, 0);
	assert_int_equal(out.elf_class, ELF_CLASS32);
	assert_int_equal(out.header_offset, TEXT_OFF);
	assert_int_equal(out.load.seg[0].paddr, LOAD_ADDR);
	assert_int_equal(out.load.seg[0].memsz, TEXT_SIZE + BSS_SIZE);
	assert_int_equal(out.load.entry_gpa, LOAD_ADDR + 0x10);
}

static void test_elf64_valid(void **state)
{
	(void)state;
	build_elf(ELF_CLASS64, LOAD_ADDR + 0x10, LOAD_ADDR);
	assert_int_equal(parse(TEXT_OFF + TEXT_SIZE), 0);
	assert_int_equal(out.elf_class, ELF_CLASS64);
	assert_int_equal(out.load.entry_gpa, LOAD_ADDR + 0x10);
}

static void test_bad_checksum(void **state)
{
	(void)state;
	build_aout();
	put32(HDR_OFF + 8, 0x12345678);
	refused_with(FILE_SIZE, "the Multiboot1 header at offset 0x40 has a bad checksum");
	refused_with(FILE_SIZE, "fix the checksum field");
	struct mb1_header h;
	uint32_t off;
	assert_int_equal(mb1_header_find(img, FILE_SIZE, &h, &off, why, sizeof(why)), MB1_HEADER_BAD);
	/* A stray magic with a bad checksum before a good header is data, not the header. */
	put_header(HDR_OFF + 0x40, MB1_HEADER_MEMORY_INFO);
	assert_int_equal(mb1_header_find(img, FILE_SIZE, &h, &off, why, sizeof(why)), MB1_HEADER_FOUND);
	assert_int_equal(off, HDR_OFF + 0x40);
}

static void test_header_beyond_8k(void **state)
{
	(void)state;
	memset(img, 0, sizeof(img));
	put_header(MB1_SEARCH_LIMIT, MB1_HEADER_MEMORY_INFO);
	struct mb1_header h;
	uint32_t off;
	assert_int_equal(mb1_header_find(img, sizeof(img), &h, &off, why, sizeof(why)), MB1_HEADER_ABSENT);
	assert_non_null(strstr(why, "not within the first 8192 bytes"));
	refused_with(sizeof(img), "no Multiboot1 header");
	refused_with(sizeof(img), "offset 0x2000 is not within the first 8192 bytes");
	/* The last place a 12-byte header fits is still found. */
	memset(img, 0, sizeof(img));
	put_header(MB1_SEARCH_LIMIT - MB1_HEADER_BASE_SIZE, MB1_HEADER_MEMORY_INFO);
	assert_int_equal(mb1_header_find(img, sizeof(img), &h, &off, why, sizeof(why)), MB1_HEADER_FOUND);
	/* Nothing at all: no hint. */
	memset(img, 0, sizeof(img));
	assert_int_equal(mb1_header_find(img, sizeof(img), &h, &off, why, sizeof(why)), MB1_HEADER_ABSENT);
	assert_string_equal(why, "");
}

static void test_misaligned_header(void **state)
{
	(void)state;
	memset(img, 0, sizeof(img));
	put_header(HDR_OFF + 2, MB1_HEADER_MEMORY_INFO);
	refused_with(FILE_SIZE, "no Multiboot1 header");
	refused_with(FILE_SIZE, "offset 0x42 is not 4-byte aligned");
}

static void test_unsupported_required_flag(void **state)
{
	(void)state;
	build_aout();
	put_header(HDR_OFF, MB1_HEADER_MEMORY_INFO | MB1_HEADER_AOUT_KLUDGE | (1u << 5));
	refused_with(FILE_SIZE, "requires flag bit 5, which this monitor does not support");
	/* Unknown optional bits (16-31) are ignored; the video mode (bit 2) is accepted (and ignored). */
	put_header(HDR_OFF, MB1_HEADER_VIDEO_MODE | MB1_HEADER_AOUT_KLUDGE | (1u << 20));
	assert_int_equal(parse(FILE_SIZE), 0);
	assert_string_equal(mb1_header_flag_text(2), "video mode (ignored: the guest gets no video mode)");
	assert_null(mb1_header_flag_text(5));
}

static void test_address_fields_inconsistent(void **state)
{
	(void)state;
	build_aout();
	put32(HDR_OFF + 12, LOAD_ADDR - 4);  /* header_addr below load_addr */
	refused_with(FILE_SIZE, "header_addr 0xffffc is below load_addr 0x100000");
	build_aout();
	put32(HDR_OFF + 12, LOAD_ADDR + HDR_OFF + 0x100); /* load_addr before the file's start */
	refused_with(FILE_SIZE, "load_addr would lie before the start of the file");
}

static void test_load_end_below_load(void **state)
{
	(void)state;
	build_aout();
	put32(HDR_OFF + 20, LOAD_ADDR - 1);
	refused_with(FILE_SIZE, "load_end_addr 0xfffff is below load_addr 0x100000");
	build_aout();
	put32(HDR_OFF + 20, LOAD_ADDR + FILE_SIZE + 1); /* more than the file has */
	refused_with(FILE_SIZE, "the file is truncated or load_end_addr is wrong");
}

static void test_bss_end_below_load_end(void **state)
{
	(void)state;
	build_aout();
	put32(HDR_OFF + 24, LOAD_ADDR + FILE_SIZE - 1);
	refused_with(FILE_SIZE, "bss_end_addr 0x101fff is below load_end_addr 0x102000");
}

static void test_entry_outside(void **state)
{
	(void)state;
	build_aout();
	put32(HDR_OFF + 28, LOAD_ADDR + FILE_SIZE + BSS_SIZE);
	refused_with(FILE_SIZE, "entry_addr 0x105000 is outside the loaded image [0x100000-0x105000)");
	put32(HDR_OFF + 28, LOAD_ADDR - 1);
	refused_with(FILE_SIZE, "is outside the loaded image");
	/* ELF: e_entry outside the executable segment. */
	build_elf(ELF_CLASS32, LOAD_ADDR + TEXT_SIZE + BSS_SIZE, LOAD_ADDR);
	refused_with(TEXT_OFF + TEXT_SIZE, "is not inside a loaded executable segment");
}

static void test_segment_outside_ram(void **state)
{
	(void)state;
	build_aout();
	put32(HDR_OFF + 24, (uint32_t)MEM_LIMIT + 1);
	refused_with(FILE_SIZE, "does not fit in guest memory [0x0-0x4000000)");
	build_elf(ELF_CLASS32, (uint32_t)MEM_LIMIT + 0x10, (uint32_t)MEM_LIMIT);
	refused_with(TEXT_OFF + TEXT_SIZE, "does not fit in guest memory");
	refused_with(TEXT_OFF + TEXT_SIZE, "must be an ELF32 or ELF64 executable");
}

static void test_segment_on_reserved_range(void **state)
{
	(void)state;
	build_elf(ELF_CLASS32, 0x8010, 0x8000);
	refused_with(TEXT_OFF + TEXT_SIZE, "overlaps the boot information page [0x8000-0x9000)");
	build_elf(ELF_CLASS64, 0xf0010, 0xf0000);
	refused_with(TEXT_OFF + TEXT_SIZE, "overlaps the reserved range [0x9f000-0x100000)");
}

static void test_elf_without_address_fields_must_be_elf(void **state)
{
	(void)state;
	memset(img, 0, sizeof(img));
	put_header(HDR_OFF, MB1_HEADER_MEMORY_INFO);
	refused_with(FILE_SIZE, "must be an ELF32 or ELF64 executable, but: not an ELF image");
	build_aout();
	put_header(HDR_OFF, MB1_HEADER_AOUT_KLUDGE);
	memset(img + HDR_OFF + MB1_HEADER_BASE_SIZE, 0, 20);
	refused_with(HDR_OFF + 0x10, "end before entry_addr");
}

static void test_info(void **state)
{
	(void)state;
	static uint8_t buf[4096];
	const struct mb1_mmap_entry mmap[] = {
		{ 0, 0, 0x9f000, MB1_MEMORY_AVAILABLE },
		{ 0, 0x9f000, 0x61000, MB1_MEMORY_RESERVED },
		{ 0, 0x100000, 255 * MiB, MB1_MEMORY_AVAILABLE },
	};
	const struct mb1_info_params p = {
		.mem_lower_bytes = 0x9f000, .mem_upper_bytes = 255 * MiB, .mmap = mmap, .mmap_count = 3,
		.cmdline = "mem=ept status=7", .boot_loader_name = "hv",
	};
	const uint32_t base = 0x8000;
	memset(buf, 0xcc, sizeof(buf));
	const uint32_t len = mb1_info_build(buf, sizeof(buf), base, &p);
	assert_int_equal(len, MB1_INFO_SIZE + 3 * MB1_MMAP_ENTRY_SIZE + sizeof("mem=ept status=7") + sizeof("hv"));
	struct mb1_info info;
	memcpy(&info, buf, sizeof(info));
	assert_int_equal(info.flags, MB1_INFO_MEMORY | MB1_INFO_CMDLINE | MB1_INFO_MEM_MAP | MB1_INFO_BOOT_LOADER_NAME);
	assert_int_equal(info.flags, (1u << 0) | (1u << 2) | (1u << 6) | (1u << 9)); /* the spec's bit numbers */
	assert_int_equal(info.mem_lower, 636);
	assert_int_equal(info.mem_upper, 255 * 1024);
	assert_int_equal(info.mods_count, 0);
	assert_int_equal(info.mmap_addr, base + MB1_INFO_SIZE);
	assert_int_equal(info.mmap_length, 3 * MB1_MMAP_ENTRY_SIZE);
	/* Walk the map as the spec says: the next entry is size + 4 bytes further. */
	uint32_t at = info.mmap_addr - base;
	for (unsigned i = 0; i < 3; i++) {
		struct mb1_mmap_entry e;
		memcpy(&e, buf + at, sizeof(e));
		assert_int_equal(e.size, 20);
		assert_int_equal(e.base_addr, mmap[i].base_addr);
		assert_int_equal(e.length, mmap[i].length);
		assert_int_equal(e.type, mmap[i].type);
		at += e.size + 4;
	}
	assert_int_equal(at, info.mmap_addr - base + info.mmap_length);
	assert_string_equal((const char *)buf + (info.cmdline - base), "mem=ept status=7");
	assert_string_equal((const char *)buf + (info.boot_loader_name - base), "hv");
	/* Too small a buffer: nothing. */
	assert_int_equal(mb1_info_build(buf, MB1_INFO_SIZE + 10, base, &p), 0);
	assert_int_equal(mb1_info_build(buf, 10, base, &p), 0);
}

static void test_why_fits(void **state)
{
	(void)state;
	/* The longest refusals fit MB1_WHY_LEN whole (they end with what to do). */
	build_aout();
	put32(HDR_OFF + 12, 0xfffffff0u);
	put32(HDR_OFF + 16, 0x10u);
	refused_with(FILE_SIZE, "fix the address fields");
	build_elf(ELF_CLASS64, 0xf0010, 0xf0000);
	refused_with(TEXT_OFF + TEXT_SIZE, "link the kernel at 1 MiB or above");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_aout_kludge_valid),
		cmocka_unit_test(test_elf32_valid),
		cmocka_unit_test(test_elf64_valid),
		cmocka_unit_test(test_bad_checksum),
		cmocka_unit_test(test_header_beyond_8k),
		cmocka_unit_test(test_misaligned_header),
		cmocka_unit_test(test_unsupported_required_flag),
		cmocka_unit_test(test_address_fields_inconsistent),
		cmocka_unit_test(test_load_end_below_load),
		cmocka_unit_test(test_bss_end_below_load_end),
		cmocka_unit_test(test_entry_outside),
		cmocka_unit_test(test_segment_outside_ram),
		cmocka_unit_test(test_segment_on_reserved_range),
		cmocka_unit_test(test_elf_without_address_fields_must_be_elf),
		cmocka_unit_test(test_info),
		cmocka_unit_test(test_why_fits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
