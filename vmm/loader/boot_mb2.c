/*
 * Multiboot2 boot information -> struct bootinfo
 * (Multiboot2 specification 1.0, section 3.6 "Boot information format").
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "vmm/boot.h"
#include "vmm/format.h"
#include "vmm/multiboot2.h"

/* Spec 3.6.8: "entry_size ... is guaranteed to be a multiple of 8" (keeps the 64-bit fields aligned). */
#define MB2_MMAP_ENTRY_ALIGN 8u
#define MB2_GUEST_MODULE_NAME "guest"

static void copy_string(char *dst, size_t cap, const char *src, size_t src_max)
{
	size_t n = 0;
	while (n + 1 < cap && n < src_max && src[n])
		dst[n] = src[n], n++;
	dst[n] = 0;
}

/* Length of a string that may lack its NUL within src_max bytes. */
static size_t bounded_length(const char *src, size_t src_max)
{
	size_t n = 0;
	while (n < src_max && src[n])
		n++;
	return n;
}

static uint32_t mb2_mem_type(uint32_t t)
{
	switch (t) {
	case MB2_MEMORY_AVAILABLE: return BI_MEM_USABLE;
	case MB2_MEMORY_ACPI_RECLAIMABLE: return BI_MEM_ACPI_RECLAIM;
	case MB2_MEMORY_NVS: return BI_MEM_ACPI_NVS;
	case MB2_MEMORY_BADRAM: return BI_MEM_BAD;
	default: return BI_MEM_RESERVED;
	}
}

int multiboot2_to_bootinfo(const void *mbi, struct bootinfo *bi, const char **why)
{
	const struct mb2_info_header *hdr = mbi;
	const uint8_t *p, *end;
	int have_guest_by_name = 0, have_module = 0;

	memset(bi, 0, sizeof(*bi));
	bi->magic = BOOTINFO_MAGIC;
	bi->version = BOOTINFO_VERSION;
	bi->source = BI_SOURCE_MULTIBOOT2;
	if (hdr->total_size < sizeof(*hdr) || hdr->total_size > MB2_INFO_MAX_SIZE) {
		*why = "Multiboot2 information has an implausible total_size";
		return -1;
	}
	p = (const uint8_t *)mbi + sizeof(*hdr);
	end = (const uint8_t *)mbi + hdr->total_size;
	while (p + sizeof(struct mb2_tag) <= end) {
		const struct mb2_tag *tag = (const void *)p;
		if (tag->type == MB2_TAG_END)
			break;
		if (tag->size < sizeof(*tag) || tag->size > (size_t)(end - p)) {
			*why = "Multiboot2 information has a tag running past its end";
			return -1;
		}
		switch (tag->type) {
		case MB2_TAG_CMDLINE:
			copy_string(bi->cmdline, sizeof(bi->cmdline), (const char *)(tag + 1), tag->size - sizeof(*tag));
			/* The whole length: the monitor refuses a line that did not fit rather than run it cut. */
			bi->cmdline_length = (uint32_t)bounded_length((const char *)(tag + 1), tag->size - sizeof(*tag));
			break;
		case MB2_TAG_BOOTLOADER_NAME:
			copy_string(bi->loader_name, sizeof(bi->loader_name), (const char *)(tag + 1), tag->size - sizeof(*tag));
			break;
		case MB2_TAG_MODULE: {
			const struct mb2_tag_module *m = (const void *)tag;
			/* The specification's module tag has both addresses and a NUL-terminated name. */
			if (tag->size < sizeof(*m) + 1) {
				*why = "Multiboot2 information has a module tag too short for its addresses and name";
				return -1;
			}
			size_t name_max = tag->size - sizeof(*m);
			int named_guest = strncmp(m->string, MB2_GUEST_MODULE_NAME, name_max) == 0 &&
					  name_max > strlen(MB2_GUEST_MODULE_NAME);
			/* The module named "guest" wins; otherwise the first module. */
			if (named_guest ? !have_guest_by_name : !have_module) {
				bi->guest_image = m->mod_start;
				bi->guest_size = m->mod_end > m->mod_start ? m->mod_end - m->mod_start : 0;
				have_guest_by_name |= named_guest;
			}
			have_module = 1;
			break;
		}
		case MB2_TAG_MMAP: {
			const struct mb2_tag_mmap *mm = (const void *)tag;
			const uint8_t *e = (const uint8_t *)(mm + 1);
			if (tag->size < sizeof(*mm)) {
				*why = "Multiboot2 information has a memory-map tag too short for its header";
				return -1;
			}
			if (mm->entry_size < sizeof(struct mb2_mmap_entry)) {
				*why = "Multiboot2 memory map has entries smaller than the specification's";
				return -1;
			}
			if (mm->entry_size % MB2_MMAP_ENTRY_ALIGN != 0) {
				*why = "Multiboot2 memory map has an entry_size that is not a multiple of 8";
				return -1;
			}
			for (; mm->entry_size <= (size_t)(p + tag->size - e); e += mm->entry_size) {
				const struct mb2_mmap_entry *me = (const void *)e;
				if (bi->mem_count == BOOTINFO_MAX_MEM_RANGES) {
					*why = "Multiboot2 memory map has more entries than BOOTINFO_MAX_MEM_RANGES";
					return -1;
				}
				bi->mem[bi->mem_count].base = me->base_addr;
				bi->mem[bi->mem_count].length = me->length;
				bi->mem[bi->mem_count].type = mb2_mem_type(me->type);
				bi->mem_count++;
			}
			break;
		}
		case MB2_TAG_FRAMEBUFFER: {
			const struct mb2_tag_framebuffer *fb = (const void *)tag;
			/*
			 * Spec 3.6.12: the common part (address, pitch, width, height, bpp, type, reserved)
			 * always comes first; the colour_info after it depends on the type (checked below).
			 */
			if (tag->size < offsetof(struct mb2_tag_framebuffer, red_field_position)) {
				*why = "Multiboot2 information has a framebuffer tag too short for its fields";
				return -1;
			}
			bi->fb.addr = fb->addr;
			bi->fb.width = fb->width;
			bi->fb.height = fb->height;
			bi->fb.pitch = fb->pitch;
			bi->fb.bpp = fb->bpp;
			bi->fb.type = fb->type;
			/* The tag ends with the last colour field (38 bytes from GRUB); sizeof has padding. */
			if (fb->type == BI_FB_TYPE_RGB &&
			    tag->size >= offsetof(struct mb2_tag_framebuffer, blue_mask_size) + sizeof(fb->blue_mask_size)) {
				bi->fb.red_field_position = fb->red_field_position;
				bi->fb.red_mask_size = fb->red_mask_size;
				bi->fb.green_field_position = fb->green_field_position;
				bi->fb.green_mask_size = fb->green_mask_size;
				bi->fb.blue_field_position = fb->blue_field_position;
				bi->fb.blue_mask_size = fb->blue_mask_size;
			} else if (fb->type == BI_FB_TYPE_RGB) {
				bi->fb.type = BI_FB_TYPE_INDEXED; /* no colour_info: not usable as direct colour */
			}
			break;
		}
		case MB2_TAG_ACPI_OLD:
		case MB2_TAG_ACPI_NEW:
			/* The tag holds a copy of the RSDP; remember where that copy is. */
			if (!bi->acpi_rsdp || tag->type == MB2_TAG_ACPI_NEW)
				bi->acpi_rsdp = (uint64_t)(uintptr_t)(tag + 1);
			break;
		default:
			break;
		}
		p += (tag->size + MB2_TAG_ALIGN - 1) & ~(MB2_TAG_ALIGN - 1);
	}
	if (bi->mem_count == 0) {
		*why = "the boot loader passed no memory map (Multiboot2 tag 6)";
		return -1;
	}
	return 0;
}

int mb2_header_find(const void *image, uint64_t size, uint32_t *offset, char *why, size_t why_len)
{
	const uint8_t *img = image;
	const uint64_t limit = size < MB2_HEADER_SEARCH_LIMIT ? size : MB2_HEADER_SEARCH_LIMIT;
	int bad = 0;

	if (why && why_len)
		why[0] = 0;
	for (uint64_t off = 0; off + MB2_HEADER_FIXED_SIZE <= limit; off += MB2_HEADER_ALIGN) {
		struct mb2_header h;
		memcpy(&h, img + off, sizeof(h));
		if (h.magic != MB2_HEADER_MAGIC)
			continue;
		if ((uint32_t)(h.magic + h.architecture + h.header_length + h.checksum) == 0) {
			*offset = (uint32_t)off;
			return 1;
		}
		if (!bad && why && why_len)
			hv_snprintf(why, why_len, "the Multiboot2 header at offset 0x%llx has a bad checksum: magic + "
				    "architecture + header_length + checksum is 0x%x, not 0 (Multiboot2 3.1.2): fix the "
				    "checksum field", (unsigned long long)off,
				    (uint32_t)(h.magic + h.architecture + h.header_length + h.checksum));
		bad = 1;
	}
	return bad ? -1 : 0;
}
