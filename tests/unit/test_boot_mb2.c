/*
 * Host unit tests for vmm/loader/boot_mb2.c: Multiboot2 boot information -> struct bootinfo.
 * The information structures are built by hand as the Multiboot2 specification
 * (section 3.6) lays them out: total_size, reserved, then tags, each starting
 * on an 8-byte boundary, ended by a tag of type 0 and size 8.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/boot.h"
#include "vmm/multiboot2.h"

#define MiB (1024ull * 1024ull)
#define GiB (1024ull * MiB)

/* Multiboot2 tag types and memory types (spec 3.6). */
enum { T_END = 0, T_CMDLINE = 1, T_LOADER = 2, T_MODULE = 3, T_BASIC_MEMINFO = 4, T_MMAP = 6,
       T_FRAMEBUFFER = 8, T_ACPI_OLD = 14, T_ACPI_NEW = 15, T_LOAD_BASE = 21 };
enum { M_AVAILABLE = 1, M_RESERVED = 2, M_ACPI = 3, M_NVS = 4, M_BAD = 5 };

struct mmap_entry {
	uint64_t base, length;
	uint32_t type, reserved;
};

/* ---- a Multiboot2 information builder ---- */

#define MBI_CAP 16384
struct mbi {
	_Alignas(8) uint8_t buf[MBI_CAP];
	size_t len;
};

static struct mbi MBI;          /* the structure under construction */
static struct bootinfo BI;      /* the result (large: keep it off the stack) */
static const char *WHY;

static void put32(size_t off, uint32_t v) { memcpy(MBI.buf + off, &v, 4); }

static void mbi_begin(void)
{
	memset(&MBI, 0xcc, sizeof(MBI)); /* garbage everywhere the builder does not write */
	put32(4, 0);                     /* reserved */
	MBI.len = 8;
}

/* Start a tag; returns its offset.  The caller appends the payload and calls tag_end(). */
static size_t tag_begin(uint32_t type)
{
	assert_true(MBI.len % 8 == 0);
	size_t off = MBI.len;
	put32(off, type);
	put32(off + 4, 0);
	MBI.len += 8;
	return off;
}

static void append(const void *data, size_t n)
{
	assert_true(MBI.len + n + 8 <= MBI_CAP);
	memcpy(MBI.buf + MBI.len, data, n);
	MBI.len += n;
}

/* Set the tag's size (unpadded, as the spec says) and pad to the next 8-byte boundary. */
static void tag_end(size_t off)
{
	put32(off + 4, (uint32_t)(MBI.len - off));
	while (MBI.len % 8)
		MBI.buf[MBI.len++] = 0xee;
}

static void add_string_tag(uint32_t type, const char *s)
{
	size_t off = tag_begin(type);
	append(s, strlen(s) + 1);
	tag_end(off);
}

static void add_module(uint32_t start, uint32_t end, const char *name)
{
	size_t off = tag_begin(T_MODULE);
	append(&start, 4);
	append(&end, 4);
	append(name, strlen(name) + 1);
	tag_end(off);
}

/* A memory map whose entries are entry_size bytes apart (24 in the spec; larger is allowed). */
static void add_mmap_sized(const struct mmap_entry *e, size_t n, uint32_t entry_size)
{
	size_t off = tag_begin(T_MMAP);
	uint32_t version = 0;
	append(&entry_size, 4);
	append(&version, 4);
	for (size_t i = 0; i < n; i++) {
		uint8_t raw[64];
		memset(raw, 0xab, sizeof(raw));
		memcpy(raw, &e[i], sizeof(e[i]) < entry_size ? sizeof(e[i]) : entry_size);
		append(raw, entry_size);
	}
	tag_end(off);
}

static void add_mmap(const struct mmap_entry *e, size_t n) { add_mmap_sized(e, n, 24); }

static void add_end_tag(void)
{
	size_t off = tag_begin(T_END);
	tag_end(off);
	assert_int_equal(MBI.len - off, 8);
}

/* Set total_size to everything built so far. */
static void mbi_finish(void) { put32(0, (uint32_t)MBI.len); }

static int parse(void)
{
	WHY = NULL;
	memset(&BI, 0x5a, sizeof(BI));
	return multiboot2_to_bootinfo(MBI.buf, &BI, &WHY);
}

static void assert_fails_with(const char *fragment)
{
	int r = parse();
	assert_int_equal(r, -1);
	assert_non_null(WHY);
	if (!strstr(WHY, fragment))
		print_message("reason '%s' does not mention '%s'\n", WHY, fragment);
	assert_non_null(strstr(WHY, fragment));
}

static const struct mmap_entry SIMPLE_MAP[] = {
	{ 0, 0x9fc00, M_AVAILABLE, 0 },
	{ 0x100000, 511 * MiB, M_AVAILABLE, 0 },
};

/* A minimal valid structure: a memory map and the end tag. */
static void build_minimal(void)
{
	mbi_begin();
	add_mmap(SIMPLE_MAP, 2);
	add_end_tag();
	mbi_finish();
}

/* ---- tests ---- */

static void test_typical_grub_information(void **state)
{
	(void)state;
	mbi_begin();
	add_string_tag(T_CMDLINE, "log=debug mem=ept");
	add_string_tag(T_LOADER, "GRUB 2.06-13+deb12u1");
	add_module(0x00800000, 0x00823456, "guest");
	add_mmap(SIMPLE_MAP, 2);
	add_end_tag();
	mbi_finish();

	assert_int_equal(parse(), 0);
	assert_int_equal(BI.magic, BOOTINFO_MAGIC);
	assert_int_equal(BI.version, BOOTINFO_VERSION);
	assert_int_equal(BI.source, BI_SOURCE_MULTIBOOT2);
	assert_string_equal(BI.cmdline, "log=debug mem=ept");
	assert_string_equal(BI.loader_name, "GRUB 2.06-13+deb12u1");
	assert_int_equal(BI.guest_image, 0x00800000);
	assert_int_equal(BI.guest_size, 0x23456);
	assert_int_equal(BI.mem_count, 2);
	assert_int_equal(BI.mem[0].base, 0);
	assert_int_equal(BI.mem[0].length, 0x9fc00);
	assert_int_equal(BI.mem[0].type, BI_MEM_USABLE);
	assert_int_equal(BI.mem[1].base, 0x100000);
	assert_int_equal(BI.mem[1].length, 511 * MiB);
	assert_int_equal(BI.mem[1].type, BI_MEM_USABLE);
	/* Nothing else is made up: the rest starts out zero. */
	assert_int_equal(BI.mem[2].base, 0);
	assert_int_equal(BI.mem[2].length, 0);
	assert_int_equal(BI.mem[2].type, 0);
	assert_int_equal(BI.fb.addr, 0);
	assert_int_equal(BI.acpi_rsdp, 0);
	assert_int_equal(BI.monitor_start, 0);
	assert_int_equal(BI.monitor_end, 0);
}

static void test_memory_types_translated(void **state)
{
	(void)state;
	static const struct mmap_entry map[] = {
		{ 0x0000000000000000ull, 0x9f000, M_AVAILABLE, 0 },
		{ 0x000000000009f000ull, 0x1000, M_RESERVED, 0 },
		{ 0x00000000000e0000ull, 0x20000, 7, 0 },            /* persistent memory etc.: reserved */
		{ 0x0000000000100000ull, 0x7fe00000, M_AVAILABLE, 0 },
		{ 0x000000007ff00000ull, 0x80000, M_ACPI, 0 },
		{ 0x000000007ff80000ull, 0x80000, M_NVS, 0 },
		{ 0x0000000080000000ull, 0x1000, M_BAD, 0 },
		{ 0x00000000fec00000ull, 0x1000, 0, 0 },             /* 0 is not a type: reserved */
		{ 0x00000000fee00000ull, 0x1000, 0xffffffffu, 0 },
		{ 0x0000000100000000ull, 4 * GiB, M_AVAILABLE, 0 },  /* above 4 GiB: 64-bit fields */
		{ 0x0000fd0000000000ull, 12 * GiB, 6, 0 },
	};
	static const uint32_t want[] = {
		BI_MEM_USABLE, BI_MEM_RESERVED, BI_MEM_RESERVED, BI_MEM_USABLE, BI_MEM_ACPI_RECLAIM,
		BI_MEM_ACPI_NVS, BI_MEM_BAD, BI_MEM_RESERVED, BI_MEM_RESERVED, BI_MEM_USABLE, BI_MEM_RESERVED,
	};
	const size_t n = sizeof(map) / sizeof(map[0]);
	mbi_begin();
	add_mmap(map, n);
	add_end_tag();
	mbi_finish();

	assert_int_equal(parse(), 0);
	assert_int_equal(BI.mem_count, n);
	for (size_t i = 0; i < n; i++) {
		if (BI.mem[i].type != want[i])
			print_message("entry %zu: multiboot type %u -> %u, expected %u\n", i, map[i].type,
				      BI.mem[i].type, want[i]);
		assert_int_equal(BI.mem[i].base, map[i].base);
		assert_int_equal(BI.mem[i].length, map[i].length);
		assert_int_equal(BI.mem[i].type, want[i]);
	}
}

static void test_larger_mmap_entry_size(void **state)
{
	(void)state;
	/* entry_size 32: entries are 32 bytes apart, the extra bytes are skipped. */
	static const struct mmap_entry map[] = {
		{ 0x1000, 0x2000, M_AVAILABLE, 0 },
		{ 0x3000, 0x4000, M_NVS, 0 },
		{ 0x100000000ull, 0x5000, M_ACPI, 0 },
	};
	mbi_begin();
	add_mmap_sized(map, 3, 32);
	add_end_tag();
	mbi_finish();
	assert_int_equal(parse(), 0);
	assert_int_equal(BI.mem_count, 3);
	assert_int_equal(BI.mem[1].base, 0x3000);
	assert_int_equal(BI.mem[1].length, 0x4000);
	assert_int_equal(BI.mem[1].type, BI_MEM_ACPI_NVS);
	assert_int_equal(BI.mem[2].base, 0x100000000ull);
	assert_int_equal(BI.mem[2].type, BI_MEM_ACPI_RECLAIM);
}

static void test_mmap_entry_size_too_small(void **state)
{
	(void)state;
	mbi_begin();
	add_mmap_sized(SIMPLE_MAP, 2, 16);
	add_end_tag();
	mbi_finish();
	assert_fails_with("memory map");
}

static void test_unaligned_tag_sizes_are_padded(void **state)
{
	(void)state;
	/* Tag sizes that are not multiples of 8: the next tag starts at the next 8-byte boundary. */
	mbi_begin();
	add_string_tag(T_CMDLINE, "abc");     /* size 12 -> next at +16 */
	add_string_tag(T_LOADER, "GRUB");     /* size 13 */
	size_t off = tag_begin(T_LOAD_BASE);  /* size 12, unknown to the parser */
	uint32_t base = 0x200000;
	append(&base, 4);
	tag_end(off);
	add_module(0x300000, 0x301001, "g"); /* size 18 */
	add_mmap(SIMPLE_MAP, 1);
	add_end_tag();
	mbi_finish();
	assert_int_equal(parse(), 0);
	assert_string_equal(BI.cmdline, "abc");
	assert_string_equal(BI.loader_name, "GRUB");
	assert_int_equal(BI.guest_image, 0x300000);
	assert_int_equal(BI.guest_size, 0x1001);
	assert_int_equal(BI.mem_count, 1);
	assert_int_equal(BI.mem[0].length, 0x9fc00);
}

static void test_guest_module_picked_by_name(void **state)
{
	(void)state;
	mbi_begin();
	add_module(0x01000000, 0x01100000, "/boot/initrd.img");
	add_module(0x02000000, 0x02040000, "guest");
	add_module(0x03000000, 0x03001000, "other");
	add_mmap(SIMPLE_MAP, 2);
	add_end_tag();
	mbi_finish();
	assert_int_equal(parse(), 0);
	assert_int_equal(BI.guest_image, 0x02000000);
	assert_int_equal(BI.guest_size, 0x40000);

	/* Named "guest" first, others after: it stays. */
	mbi_begin();
	add_module(0x02000000, 0x02040000, "guest");
	add_module(0x01000000, 0x01100000, "initrd");
	add_mmap(SIMPLE_MAP, 2);
	add_end_tag();
	mbi_finish();
	assert_int_equal(parse(), 0);
	assert_int_equal(BI.guest_image, 0x02000000);
	assert_int_equal(BI.guest_size, 0x40000);

	/* Two named "guest": the first of them. */
	mbi_begin();
	add_module(0x01000000, 0x01100000, "initrd");
	add_module(0x02000000, 0x02040000, "guest");
	add_module(0x04000000, 0x04080000, "guest");
	add_mmap(SIMPLE_MAP, 2);
	add_end_tag();
	mbi_finish();
	assert_int_equal(parse(), 0);
	assert_int_equal(BI.guest_image, 0x02000000);
}

static void test_first_module_without_guest_name(void **state)
{
	(void)state;
	mbi_begin();
	add_module(0x01000000, 0x01100000, "/boot/guest.elf");
	add_module(0x02000000, 0x02040000, "second");
	add_mmap(SIMPLE_MAP, 2);
	add_end_tag();
	mbi_finish();
	assert_int_equal(parse(), 0);
	assert_int_equal(BI.guest_image, 0x01000000);
	assert_int_equal(BI.guest_size, 0x100000);

	/* Names that merely start with or are a prefix of "guest" are not "guest". */
	mbi_begin();
	add_module(0x01000000, 0x01100000, "");
	add_module(0x02000000, 0x02040000, "guestfs");
	add_module(0x03000000, 0x03040000, "gue");
	add_module(0x04000000, 0x04040000, "Guest");
	add_mmap(SIMPLE_MAP, 2);
	add_end_tag();
	mbi_finish();
	assert_int_equal(parse(), 0);
	assert_int_equal(BI.guest_image, 0x01000000);
	assert_int_equal(BI.guest_size, 0x100000);
}

static void test_no_module_no_guest(void **state)
{
	(void)state;
	mbi_begin();
	add_string_tag(T_CMDLINE, "");
	add_mmap(SIMPLE_MAP, 2);
	add_end_tag();
	mbi_finish();
	assert_int_equal(parse(), 0);
	/* The monitor reports "no guest image" when either is 0. */
	assert_int_equal(BI.guest_image, 0);
	assert_int_equal(BI.guest_size, 0);
	assert_string_equal(BI.cmdline, "");
	assert_string_equal(BI.loader_name, "");
}

static void test_module_with_end_before_start(void **state)
{
	(void)state;
	mbi_begin();
	add_module(0x02000000, 0x01000000, "guest");
	add_mmap(SIMPLE_MAP, 2);
	add_end_tag();
	mbi_finish();
	assert_int_equal(parse(), 0);
	assert_int_equal(BI.guest_image, 0x02000000);
	assert_int_equal(BI.guest_size, 0); /* no wrapped-around size */
}

static void test_no_memory_map(void **state)
{
	(void)state;
	mbi_begin();
	add_string_tag(T_CMDLINE, "log=info");
	add_module(0x01000000, 0x01100000, "guest");
	add_end_tag();
	mbi_finish();
	assert_fails_with("memory map");

	/* An empty memory map is no memory map either. */
	mbi_begin();
	add_mmap(SIMPLE_MAP, 0);
	add_end_tag();
	mbi_finish();
	assert_fails_with("memory map");
}

static void test_tag_running_past_total_size(void **state)
{
	(void)state;
	mbi_begin();
	add_mmap(SIMPLE_MAP, 2);
	size_t off = tag_begin(T_CMDLINE);
	append("console", 8);
	tag_end(off);
	add_end_tag();
	mbi_finish();
	put32(off + 4, 4096); /* the command-line tag claims 4 KiB */
	assert_fails_with("past");

	/* A memory map whose size runs 8 bytes past total_size (no end tag). */
	mbi_begin();
	add_mmap(SIMPLE_MAP, 2);
	mbi_finish();
	put32(0, (uint32_t)MBI.len - 8);
	assert_fails_with("past");

	/* A tag smaller than its own header. */
	mbi_begin();
	add_mmap(SIMPLE_MAP, 2);
	off = tag_begin(T_LOAD_BASE);
	append("\0\0\0\0", 4);
	tag_end(off);
	add_end_tag();
	mbi_finish();
	put32(off + 4, 4);
	assert_int_equal(parse(), -1);
	assert_non_null(WHY);
}

static void test_implausible_total_size(void **state)
{
	(void)state;
	static const uint32_t bad[] = { 0, 4, 7, (1u << 20) + 8, 0x7fffffffu, 0xffffffffu };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		build_minimal();
		put32(0, bad[i]);
		assert_fails_with("total_size");
	}
	/* The smallest plausible one (the header alone) is fine, but has no memory map. */
	build_minimal();
	put32(0, 8);
	assert_fails_with("memory map");
}

static void test_end_tag_stops_parsing(void **state)
{
	(void)state;
	mbi_begin();
	add_mmap(SIMPLE_MAP, 2);
	add_end_tag();
	add_string_tag(T_CMDLINE, "after the end");
	add_module(0x01000000, 0x01100000, "guest");
	mbi_finish(); /* total_size includes the tags after the end tag */
	assert_int_equal(parse(), 0);
	assert_string_equal(BI.cmdline, "");
	assert_int_equal(BI.guest_image, 0);
	assert_int_equal(BI.mem_count, 2);
}

static void test_no_end_tag_stops_at_total_size(void **state)
{
	(void)state;
	mbi_begin();
	add_string_tag(T_CMDLINE, "x=1");
	add_mmap(SIMPLE_MAP, 2);
	mbi_finish(); /* no end tag; the bytes after total_size are garbage (0xcc) */
	assert_int_equal(parse(), 0);
	assert_string_equal(BI.cmdline, "x=1");
	assert_int_equal(BI.mem_count, 2);
}

static void test_too_many_memory_ranges(void **state)
{
	(void)state;
	static struct mmap_entry map[BOOTINFO_MAX_MEM_RANGES + 1];
	for (size_t i = 0; i < BOOTINFO_MAX_MEM_RANGES + 1; i++)
		map[i] = (struct mmap_entry){ i * 0x10000, 0x10000, (i % 2) ? M_AVAILABLE : M_RESERVED, 0 };

	/* Exactly the maximum fits. */
	mbi_begin();
	add_mmap(map, BOOTINFO_MAX_MEM_RANGES);
	add_end_tag();
	mbi_finish();
	assert_int_equal(parse(), 0);
	assert_int_equal(BI.mem_count, BOOTINFO_MAX_MEM_RANGES);
	assert_int_equal(BI.mem[BOOTINFO_MAX_MEM_RANGES - 1].base, (BOOTINFO_MAX_MEM_RANGES - 1) * 0x10000ull);
	assert_int_equal(BI.mem[BOOTINFO_MAX_MEM_RANGES - 1].type, BI_MEM_USABLE);

	/* One more does not. */
	mbi_begin();
	add_mmap(map, BOOTINFO_MAX_MEM_RANGES + 1);
	add_end_tag();
	mbi_finish();
	assert_fails_with("BOOTINFO_MAX_MEM_RANGES");

	/* Nor does the maximum split over two memory-map tags plus one. */
	mbi_begin();
	add_mmap(map, BOOTINFO_MAX_MEM_RANGES / 2);
	add_mmap(map, BOOTINFO_MAX_MEM_RANGES / 2 + 1);
	add_end_tag();
	mbi_finish();
	assert_int_equal(parse(), -1);
}

static void test_long_strings_truncated(void **state)
{
	(void)state;
	static char longline[BOOTINFO_CMDLINE_MAX + 100];
	static char longname[BOOTINFO_NAME_MAX + 20];
	memset(longline, 'c', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = 0;
	memset(longname, 'n', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = 0;
	mbi_begin();
	add_string_tag(T_CMDLINE, longline);
	add_string_tag(T_LOADER, longname);
	add_mmap(SIMPLE_MAP, 2);
	add_end_tag();
	mbi_finish();
	assert_int_equal(parse(), 0);
	assert_int_equal(strlen(BI.cmdline), BOOTINFO_CMDLINE_MAX - 1);
	assert_int_equal(strlen(BI.loader_name), BOOTINFO_NAME_MAX - 1);
	assert_int_equal(memcmp(BI.cmdline, longline, BOOTINFO_CMDLINE_MAX - 1), 0);
	assert_int_equal(memcmp(BI.loader_name, longname, BOOTINFO_NAME_MAX - 1), 0);
	/* The whole length is kept, so the monitor refuses the line instead of running it cut. */
	assert_int_equal(BI.cmdline_length, sizeof(longline) - 1);
	assert_true(BI.cmdline_length > BOOTINFO_CMDLINE_LEN_MAX);
	/* The memory map after the long tags was still found. */
	assert_int_equal(BI.mem_count, 2);
}

/* Padding then guest_mem=8M: cut at 511 characters it once read as a different, valid line. */
static void test_cmdline_length_at_and_past_the_limit(void **state)
{
	(void)state;
	static char line[BOOTINFO_CMDLINE_LEN_MAX + 2];
	static const char tail[] = "guest_mem=0x8000000";

	/* Exactly the limit: kept whole, length equal to the limit. */
	memset(line, ' ', BOOTINFO_CMDLINE_LEN_MAX - (sizeof(tail) - 1));
	memcpy(line + BOOTINFO_CMDLINE_LEN_MAX - (sizeof(tail) - 1), tail, sizeof(tail));
	assert_int_equal(strlen(line), BOOTINFO_CMDLINE_LEN_MAX);
	mbi_begin();
	add_string_tag(T_CMDLINE, line);
	add_mmap(SIMPLE_MAP, 2);
	add_end_tag();
	mbi_finish();
	assert_int_equal(parse(), 0);
	assert_int_equal(BI.cmdline_length, BOOTINFO_CMDLINE_LEN_MAX);
	assert_string_equal(BI.cmdline, line);

	/* One character more: the length says so, whatever the copy holds. */
	memset(line, ' ', BOOTINFO_CMDLINE_LEN_MAX + 1 - (sizeof(tail) - 1));
	memcpy(line + BOOTINFO_CMDLINE_LEN_MAX + 1 - (sizeof(tail) - 1), tail, sizeof(tail));
	mbi_begin();
	add_string_tag(T_CMDLINE, line);
	add_mmap(SIMPLE_MAP, 2);
	add_end_tag();
	mbi_finish();
	assert_int_equal(parse(), 0);
	assert_int_equal(BI.cmdline_length, BOOTINFO_CMDLINE_LEN_MAX + 1);
	assert_int_equal(strlen(BI.cmdline), BOOTINFO_CMDLINE_LEN_MAX);

	/* No command-line tag: length 0. */
	mbi_begin();
	add_mmap(SIMPLE_MAP, 2);
	add_end_tag();
	mbi_finish();
	assert_int_equal(parse(), 0);
	assert_int_equal(BI.cmdline_length, 0);
}

static void test_unterminated_string_bounded_by_tag(void **state)
{
	(void)state;
	/* A command line without its NUL: copied up to the end of the tag, not beyond. */
	mbi_begin();
	size_t off = tag_begin(T_CMDLINE);
	append("abcdefgh", 8); /* size 16, no terminator; the next tag follows directly */
	tag_end(off);
	add_mmap(SIMPLE_MAP, 2);
	add_end_tag();
	mbi_finish();
	assert_int_equal(parse(), 0);
	assert_string_equal(BI.cmdline, "abcdefgh");
	assert_int_equal(BI.cmdline_length, 8);
}

/* Copies of an RSDP as the ACPI tags carry them (20 bytes for ACPI 1.0, 36 for 2.0). */
static const char RSDP_V1[20] = "RSD PTR \x12";
static const char RSDP_V2[36] = "RSD PTR \x34";

static void test_framebuffer_and_acpi(void **state)
{
	(void)state;
	mbi_begin();
	size_t fb = tag_begin(T_FRAMEBUFFER);
	uint64_t addr = 0xfd000000ull;
	uint32_t pitch = 4096, width = 1024, height = 768;
	uint8_t bpp = 32, type = 1;
	uint16_t reserved = 0;
	append(&addr, 8);
	append(&pitch, 4);
	append(&width, 4);
	append(&height, 4);
	append(&bpp, 1);
	append(&type, 1);
	append(&reserved, 2);
	tag_end(fb);
	size_t acpi_old = tag_begin(T_ACPI_OLD);
	append(RSDP_V1, sizeof(RSDP_V1));
	tag_end(acpi_old);
	size_t acpi_new = tag_begin(T_ACPI_NEW);
	append(RSDP_V2, sizeof(RSDP_V2));
	tag_end(acpi_new);
	add_mmap(SIMPLE_MAP, 2);
	add_end_tag();
	mbi_finish();
	assert_int_equal(parse(), 0);
	assert_int_equal(BI.fb.addr, 0xfd000000ull);
	assert_int_equal(BI.fb.pitch, 4096);
	assert_int_equal(BI.fb.width, 1024);
	assert_int_equal(BI.fb.height, 768);
	assert_int_equal(BI.fb.bpp, 32);
	/* The ACPI 2.0 copy of the RSDP wins over the 1.0 one, whatever their order. */
	assert_int_equal(BI.acpi_rsdp, (uint64_t)(uintptr_t)(MBI.buf + acpi_new + 8));

	mbi_begin();
	acpi_new = tag_begin(T_ACPI_NEW);
	append(RSDP_V2, sizeof(RSDP_V2));
	tag_end(acpi_new);
	acpi_old = tag_begin(T_ACPI_OLD);
	append(RSDP_V1, sizeof(RSDP_V1));
	tag_end(acpi_old);
	add_mmap(SIMPLE_MAP, 2);
	add_end_tag();
	mbi_finish();
	assert_int_equal(parse(), 0);
	assert_int_equal(BI.acpi_rsdp, (uint64_t)(uintptr_t)(MBI.buf + acpi_new + 8));
	assert_int_equal(BI.fb.addr, 0);

	/* Only the old one. */
	mbi_begin();
	acpi_old = tag_begin(T_ACPI_OLD);
	append(RSDP_V1, sizeof(RSDP_V1));
	tag_end(acpi_old);
	add_mmap(SIMPLE_MAP, 2);
	add_end_tag();
	mbi_finish();
	assert_int_equal(parse(), 0);
	assert_int_equal(BI.acpi_rsdp, (uint64_t)(uintptr_t)(MBI.buf + acpi_old + 8));
}

/* Regression: a module tag without a name is not the module named "guest". */
static void test_nameless_module_is_not_guest(void **state)
{
	(void)state;
	mbi_begin();
	add_mmap(SIMPLE_MAP, sizeof(SIMPLE_MAP) / sizeof(SIMPLE_MAP[0]));
	size_t off = tag_begin(T_MODULE);
	uint32_t start = 0x200000, end = 0x201000;
	append(&start, 4);
	append(&end, 4);
	append("", 1);
	tag_end(off);
	add_module(0x400000, 0x402000, "guest");
	add_end_tag();
	mbi_finish();
	assert_int_equal(parse(), 0);
	assert_int_equal(BI.guest_image, 0x400000);
	assert_int_equal(BI.guest_size, 0x2000);
}

/* Regression: module and memory-map tags too short for their fixed fields are refused, not over-read. */
static void test_short_module_and_mmap_tags_refused(void **state)
{
	(void)state;
	mbi_begin();
	add_mmap(SIMPLE_MAP, sizeof(SIMPLE_MAP) / sizeof(SIMPLE_MAP[0]));
	size_t off = tag_begin(T_MODULE); /* 8 bytes: no addresses at all */
	tag_end(off);
	add_end_tag();
	mbi_finish();
	assert_fails_with("module tag too short");

	mbi_begin(); /* 16 bytes: addresses but not even the name's NUL (was taken for "guest") */
	add_mmap(SIMPLE_MAP, sizeof(SIMPLE_MAP) / sizeof(SIMPLE_MAP[0]));
	off = tag_begin(T_MODULE);
	uint32_t start = 0x200000, end = 0x201000;
	append(&start, 4);
	append(&end, 4);
	tag_end(off);
	add_module(0x400000, 0x402000, "guest");
	add_end_tag();
	mbi_finish();
	assert_fails_with("module tag too short");

	mbi_begin();
	off = tag_begin(T_MMAP); /* 8 bytes: no entry_size / entry_version */
	tag_end(off);
	add_end_tag();
	mbi_finish();
	assert_fails_with("memory-map tag too short");
}

/* Found by fuzzing (tests/fuzz/fuzz_boot_mb2.c): the fields of a short framebuffer tag were read past its end. */
static void test_short_framebuffer_tag_refused(void **state)
{
	(void)state;
	mbi_begin();
	add_mmap(SIMPLE_MAP, 2);
	size_t fb = tag_begin(T_FRAMEBUFFER); /* the address only: pitch, width, height, bpp, type missing */
	uint64_t addr = 0xfd000000ull;
	append(&addr, 8);
	tag_end(fb);
	add_end_tag();
	mbi_finish();
	assert_fails_with("framebuffer tag too short");
	assert_int_equal(BI.fb.width, 0); /* nothing read from past the tag */

	mbi_begin(); /* the common part alone (an EGA text framebuffer): accepted */
	add_mmap(SIMPLE_MAP, 2);
	fb = tag_begin(T_FRAMEBUFFER);
	uint32_t pitch = 160, width = 80, height = 25;
	uint8_t bpp = 16, type = 2;
	uint16_t reserved = 0;
	append(&addr, 8);
	append(&pitch, 4);
	append(&width, 4);
	append(&height, 4);
	append(&bpp, 1);
	append(&type, 1);
	append(&reserved, 2);
	tag_end(fb);
	add_end_tag();
	mbi_finish();
	assert_int_equal(parse(), 0);
	assert_int_equal(BI.fb.width, 80);
	assert_int_equal(BI.fb.height, 25);
}

/* Spec 3.6.8: entry_size is a multiple of 8; another size would make the 64-bit fields unaligned. */
static void test_mmap_entry_size_not_multiple_of_8_refused(void **state)
{
	(void)state;
	mbi_begin();
	add_mmap_sized(SIMPLE_MAP, 2, 28);
	add_end_tag();
	mbi_finish();
	assert_fails_with("not a multiple of 8");
}

/* The OS image's Multiboot2 header (spec 3.1.1, 3.1.2): found 8-byte aligned in the first 32 KiB. */
static void put_mb2_header(uint8_t *img, size_t off, uint32_t checksum_delta)
{
	const uint32_t h[4] = { MB2_HEADER_MAGIC, 0, 16, (uint32_t)-(MB2_HEADER_MAGIC + 0 + 16) + checksum_delta };
	memcpy(img + off, h, sizeof(h));
}

static void test_image_header_find(void **state)
{
	(void)state;
	static uint8_t img[MB2_HEADER_SEARCH_LIMIT + 64];
	char why[256];
	uint32_t off = 0;

	memset(img, 0, sizeof(img));
	assert_int_equal(mb2_header_find(img, sizeof(img), &off, why, sizeof(why)), 0);
	put_mb2_header(img, 0x1000, 0);
	assert_int_equal(mb2_header_find(img, sizeof(img), &off, why, sizeof(why)), 1);
	assert_int_equal(off, 0x1000);

	memset(img, 0, sizeof(img));
	put_mb2_header(img, 0x1004, 0); /* not 8-byte aligned */
	assert_int_equal(mb2_header_find(img, sizeof(img), &off, why, sizeof(why)), 0);
	memset(img, 0, sizeof(img));
	put_mb2_header(img, MB2_HEADER_SEARCH_LIMIT, 0); /* beyond 32 KiB */
	assert_int_equal(mb2_header_find(img, sizeof(img), &off, why, sizeof(why)), 0);
	memset(img, 0, sizeof(img));
	put_mb2_header(img, MB2_HEADER_SEARCH_LIMIT - 16, 0); /* the last place it fits */
	assert_int_equal(mb2_header_find(img, sizeof(img), &off, why, sizeof(why)), 1);

	memset(img, 0, sizeof(img));
	put_mb2_header(img, 0x800, 1);
	assert_int_equal(mb2_header_find(img, sizeof(img), &off, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "the Multiboot2 header at offset 0x800 has a bad checksum"));
	assert_non_null(strstr(why, "fix the checksum field"));
	/* A short image is read no further than its end. */
	assert_int_equal(mb2_header_find(img, 0x808, &off, why, sizeof(why)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_typical_grub_information),
		cmocka_unit_test(test_memory_types_translated),
		cmocka_unit_test(test_larger_mmap_entry_size),
		cmocka_unit_test(test_mmap_entry_size_too_small),
		cmocka_unit_test(test_unaligned_tag_sizes_are_padded),
		cmocka_unit_test(test_guest_module_picked_by_name),
		cmocka_unit_test(test_first_module_without_guest_name),
		cmocka_unit_test(test_no_module_no_guest),
		cmocka_unit_test(test_module_with_end_before_start),
		cmocka_unit_test(test_no_memory_map),
		cmocka_unit_test(test_tag_running_past_total_size),
		cmocka_unit_test(test_implausible_total_size),
		cmocka_unit_test(test_end_tag_stops_parsing),
		cmocka_unit_test(test_no_end_tag_stops_at_total_size),
		cmocka_unit_test(test_too_many_memory_ranges),
		cmocka_unit_test(test_long_strings_truncated),
		cmocka_unit_test(test_cmdline_length_at_and_past_the_limit),
		cmocka_unit_test(test_unterminated_string_bounded_by_tag),
		cmocka_unit_test(test_framebuffer_and_acpi),
		cmocka_unit_test(test_nameless_module_is_not_guest),
		cmocka_unit_test(test_short_module_and_mmap_tags_refused),
		cmocka_unit_test(test_short_framebuffer_tag_refused),
		cmocka_unit_test(test_mmap_entry_size_not_multiple_of_8_refused),
		cmocka_unit_test(test_image_header_find),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
