/*
 * Multiboot1 (Multiboot Specification version 0.6.96): the kernel image's header (3.1) and the
 * boot information the monitor gives such a guest (3.3), named as in the specification, and the
 * monitor's host-testable checks of an image (vmm/loader/boot_mb1.c, tests/unit/test_boot_mb1.c).
 * The monitor loads the image (vmm/loader/guest_boot.c) only after mb1_parse() has accepted all of it.
 */
#ifndef VMM_MULTIBOOT1_H
#define VMM_MULTIBOOT1_H

#include <stddef.h>
#include <stdint.h>
#include "vmm/elf.h"

#define MB1_HEADER_MAGIC     0x1BADB002u /* 3.1.2 "magic" */
#define MB1_BOOTLOADER_MAGIC 0x2BADB002u /* EAX at the OS entry (3.2 "Machine state") */
#define MB1_SEARCH_LIMIT     8192u       /* 3.1: "contained completely within the first 8192 bytes" */
#define MB1_HEADER_ALIGN     4u          /* 3.1: "longword (32-bit) aligned" */
#define MB1_REQUIRED_FLAGS_MASK 0xFFFFu  /* 3.1.2: bits 0-15 are requirements, 16-31 optional */

/*
 * Header flags (3.1.2): X(name, bit, what the loader does with it).  A set bit 0-15 the table does
 * not list is a requirement the monitor cannot meet: the image is refused.
 */
#define MB1_HEADER_FLAGS(X)                                                                   \
	X(MB1_HEADER_PAGE_ALIGN,   0,  "page-align modules (none are loaded)")                \
	X(MB1_HEADER_MEMORY_INFO,  1,  "memory information (always given)")                   \
	X(MB1_HEADER_VIDEO_MODE,   2,  "video mode (ignored: the guest gets no video mode)")  \
	X(MB1_HEADER_AOUT_KLUDGE,  16, "address fields (a.out kludge)")

#define X(name, bit, text) name = 1u << (bit),
enum mb1_header_flag { MB1_HEADER_FLAGS(X) };
#undef X

/* The header (3.1.1 "The layout of Multiboot header"); the address fields only with bit 16. */
struct mb1_header {
	uint32_t magic, flags, checksum;
	uint32_t header_addr, load_addr, load_end_addr, bss_end_addr, entry_addr; /* 3.1.3 */
	uint32_t mode_type, width, height, depth;                                /* 3.1.4 */
};
#define MB1_HEADER_BASE_SIZE  12u /* magic, flags, checksum */
#define MB1_HEADER_AOUT_SIZE  32u /* up to entry_addr */

/* Boot information flags (3.3): which fields of struct mb1_info are valid. */
#define MB1_INFO_FLAGS(X)                       \
	X(MB1_INFO_MEMORY,           0)         \
	X(MB1_INFO_BOOTDEV,          1)         \
	X(MB1_INFO_CMDLINE,          2)         \
	X(MB1_INFO_MODS,             3)         \
	X(MB1_INFO_AOUT_SYMS,        4)         \
	X(MB1_INFO_ELF_SHDR,         5)         \
	X(MB1_INFO_MEM_MAP,          6)         \
	X(MB1_INFO_DRIVE_INFO,       7)         \
	X(MB1_INFO_CONFIG_TABLE,     8)         \
	X(MB1_INFO_BOOT_LOADER_NAME, 9)         \
	X(MB1_INFO_APM_TABLE,        10)        \
	X(MB1_INFO_VBE_INFO,         11)

#define X(name, bit) name = 1u << (bit),
enum mb1_info_flag { MB1_INFO_FLAGS(X) };
#undef X

/* The boot information structure (3.3 "Boot information format"), as far as 0.6.96 defines it. */
struct mb1_info {
	uint32_t flags;
	uint32_t mem_lower, mem_upper; /* KiB from 0, KiB from 1 MiB */
	uint32_t boot_device;
	uint32_t cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr;
	uint32_t config_table;
	uint32_t boot_loader_name;
	uint32_t apm_table;
	uint32_t vbe_control_info, vbe_mode_info;
	uint16_t vbe_mode, vbe_interface_seg, vbe_interface_off, vbe_interface_len;
};
#define MB1_INFO_SIZE 88u
_Static_assert(sizeof(struct mb1_info) == MB1_INFO_SIZE, "Multiboot1 information layout (3.3)");

/*
 * One memory-map entry (3.3): `size` is the size of the rest of the entry (20), "at offset -4"
 * from base_addr; the next entry starts size + 4 bytes further.
 */
struct mb1_mmap_entry {
	uint32_t size;
	uint64_t base_addr, length;
	uint32_t type;
} __attribute__((packed));
#define MB1_MMAP_ENTRY_SIZE 24u
#define MB1_MMAP_ENTRY_SIZE_FIELD (MB1_MMAP_ENTRY_SIZE - sizeof(uint32_t)) /* 20 */
_Static_assert(sizeof(struct mb1_mmap_entry) == MB1_MMAP_ENTRY_SIZE, "Multiboot1 memory map entry (3.3)");

/* Memory-map types (3.3): "1 indicates available RAM, and all other values ... reserved". */
#define MB1_MEMORY_AVAILABLE 1u
#define MB1_MEMORY_RESERVED  2u

#define MB1_WHY_LEN 256 /* a why buffer of this size holds any refusal in full */

/* Results of mb1_header_find(). */
enum mb1_find {
	MB1_HEADER_FOUND = 0,
	MB1_HEADER_ABSENT = 1, /* no header: why may still hint at a magic in the wrong place */
	MB1_HEADER_BAD = -1,   /* a header with a bad checksum: why says so */
};

/*
 * Look for the header (3.1): the magic at a 4-byte-aligned offset in the first 8192 bytes of the
 * image whose checksum is right (magic + flags + checksum = 0 mod 2^32).  Copies it (the fields the
 * image holds; the rest zero) into *hdr and its offset into *offset.  When there is none, why tells
 * of a magic that is misaligned or beyond 8192 bytes ("" when there is none at all).
 */
enum mb1_find mb1_header_find(const void *image, uint64_t size, struct mb1_header *hdr, uint32_t *offset,
			      char *why, size_t why_len);

/* A guest-physical range the image must not touch: [base, base + size), named in refusals. */
struct mb1_range {
	uint64_t base, size;
	const char *name;
};

/*
 * An accepted image: what to load, as PT_LOAD-style segments (one for the a.out kludge), so that
 * elf_load() loads either form; entry_gpa is the 32-bit entry point.
 */
struct mb1_image {
	struct mb1_header header;
	uint32_t header_offset;
	int aout_kludge; /* 1: the address fields were used; 0: the ELF headers */
	int elf_class;   /* ELF_CLASS32 / ELF_CLASS64 for an ELF image */
	struct elf_image load;
};

/*
 * Check a whole Multiboot1 image of `size` bytes for a guest with mem_limit bytes of RAM before
 * anything is loaded: the header (mb1_header_find), its required flags, then either the address
 * fields (flag bit 16, 3.1.3: header_addr/load_addr consistent with the header's offset in the
 * file, load_end_addr >= load_addr and within the file, bss_end_addr >= load_end_addr, entry_addr
 * inside [load_addr, end)) or the image as an ELF32 (i386) or ELF64 (x86-64) executable (elf_parse
 * checks); the segments must lie inside guest RAM, touch none of the `reserved` ranges, and the
 * entry must be below 4 GiB.  Returns 0, or -1 with one sentence in why (what failed, what to do).
 */
int mb1_parse(const void *image, uint64_t size, uint64_t mem_limit, const struct mb1_range *reserved,
	      unsigned nr_reserved, struct mb1_image *out, char *why, size_t why_len);

/* What the boot information tells the guest. */
struct mb1_info_params {
	uint64_t mem_lower_bytes;           /* conventional memory from 0 */
	uint64_t mem_upper_bytes;           /* memory from 1 MiB up to the first hole */
	const struct mb1_mmap_entry *mmap;  /* the memory map (size fields are filled in here) */
	unsigned mmap_count;
	const char *cmdline;
	const char *boot_loader_name;
};

/*
 * Write the boot information into buf (which the guest will see at guest-physical `base`): the
 * structure, then the memory map, the command line and the boot loader's name after it, with
 * flags MEMORY | CMDLINE | MEM_MAP | BOOT_LOADER_NAME.  Returns the bytes used, or 0 when `cap`
 * is too small.
 */
uint32_t mb1_info_build(void *buf, uint32_t cap, uint32_t base, const struct mb1_info_params *p);

/* The text of a header flag bit (for the log), or NULL for one the monitor does not know. */
const char *mb1_header_flag_text(unsigned bit);

#endif
