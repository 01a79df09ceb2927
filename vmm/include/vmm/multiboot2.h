/*
 * The Multiboot2 boot information format (Multiboot2 specification 1.0, 3.6), in one place:
 * the monitor reads it from GRUB (vmm/loader/boot_mb2.c), writes it for its guest
 * (vmm/loader/guest_boot.c), and our guest reads it (guest/boot.c).  The header tags of
 * the images are in their nasm entry files (vmm/platform/entry.asm, guest/start.asm).
 */
#ifndef VMM_MULTIBOOT2_H
#define VMM_MULTIBOOT2_H

#include <stddef.h>
#include <stdint.h>

#define MB2_BOOTLOADER_MAGIC 0x36d76289u /* EAX at the OS entry (3.2 "Machine state") */
#define MB2_TAG_ALIGN        8u          /* every tag starts 8-byte aligned (3.6.1) */
#define MB2_INFO_MAX_SIZE    (1u << 20)  /* our sanity bound on total_size */
#define MB2_MMAP_ENTRY_VERSION 0u

/* The OS image's header (3.1.1, 3.1.2): magic, architecture, header_length, checksum. */
#define MB2_HEADER_MAGIC        0xE85250D6u
#define MB2_HEADER_SEARCH_LIMIT 32768u /* "contained completely within the first 32768 bytes" */
#define MB2_HEADER_ALIGN        8u     /* "64-bit aligned" */
#define MB2_HEADER_FIXED_SIZE   16u    /* the four fields before the tags */

struct mb2_header {
	uint32_t magic, architecture, header_length, checksum;
};

/*
 * Look for a Multiboot2 header in the first 32768 bytes of an image (3.1.1).  Returns 1 with its
 * offset when one has the magic and a right checksum (magic + architecture + header_length +
 * checksum = 0 mod 2^32, 3.1.2), 0 when there is no magic, -1 when there is a magic but no header
 * with a right checksum (why says where and what to do).
 */
int mb2_header_find(const void *image, uint64_t size, uint32_t *offset, char *why, size_t why_len);

/* Tag types (3.6.2 onwards). */
enum mb2_tag_type {
	MB2_TAG_END = 0,
	MB2_TAG_CMDLINE = 1,
	MB2_TAG_BOOTLOADER_NAME = 2,
	MB2_TAG_MODULE = 3,
	MB2_TAG_BASIC_MEMINFO = 4,
	MB2_TAG_MMAP = 6,
	MB2_TAG_FRAMEBUFFER = 8,
	MB2_TAG_ACPI_OLD = 14,
	MB2_TAG_ACPI_NEW = 15,
};

/* Memory-map entry types (3.6.8). */
enum mb2_mmap_type {
	MB2_MEMORY_AVAILABLE = 1,
	MB2_MEMORY_RESERVED = 2,
	MB2_MEMORY_ACPI_RECLAIMABLE = 3,
	MB2_MEMORY_NVS = 4,
	MB2_MEMORY_BADRAM = 5,
};

struct mb2_info_header {
	uint32_t total_size;
	uint32_t reserved;
};

struct mb2_tag {
	uint32_t type;
	uint32_t size;
};

struct mb2_tag_module {
	struct mb2_tag tag;
	uint32_t mod_start, mod_end;
	char string[];
};

struct mb2_tag_meminfo {
	struct mb2_tag tag;
	uint32_t mem_lower, mem_upper; /* KiB below 1 MiB, KiB above 1 MiB */
};

struct mb2_tag_mmap {
	struct mb2_tag tag;
	uint32_t entry_size, entry_version;
};

struct mb2_mmap_entry {
	uint64_t base_addr, length;
	uint32_t type, reserved;
};

struct mb2_tag_framebuffer {
	struct mb2_tag tag;
	uint64_t addr;
	uint32_t pitch, width, height;
	uint8_t bpp, type;
	uint16_t reserved;
	/* colour_info for framebuffer_type 1 (direct RGB colour) */
	uint8_t red_field_position, red_mask_size;
	uint8_t green_field_position, green_mask_size;
	uint8_t blue_field_position, blue_mask_size;
};

/* The size a tag of `size` bytes occupies, padding included. */
static inline uint32_t mb2_tag_span(uint32_t size) { return (size + MB2_TAG_ALIGN - 1) & ~(MB2_TAG_ALIGN - 1); }

#endif
