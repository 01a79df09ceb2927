/*
 * Multiboot1 kernel images (Multiboot Specification 0.6.96): finding and checking the header (3.1),
 * planning the load (3.1.3 address fields, or the ELF headers), and writing the boot information
 * (3.3).  Pure: no access to guest memory; unit-tested on the host (tests/unit/test_boot_mb1.c).
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "vmm/format.h"
#include "vmm/multiboot1.h"

#define FOUR_GIB (1ull << 32)
/* How far a misplaced magic is looked for, for the hint in a refusal (the Multiboot2 search limit). */
#define MB1_HINT_LIMIT 32768u
#define MB1_FLAG_BITS  32u

static int refuse(char *why, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int refuse(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	if (why && len)
		hv_vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

static uint32_t read32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

const char *mb1_header_flag_text(unsigned bit)
{
#define X(name, b, text) if (bit == (b)) return text;
	MB1_HEADER_FLAGS(X)
#undef X
	return NULL;
}

enum mb1_find mb1_header_find(const void *image, uint64_t size, struct mb1_header *hdr, uint32_t *offset,
			      char *why, size_t why_len)
{
	const uint8_t *img = image;
	const uint64_t limit = size < MB1_SEARCH_LIMIT ? size : MB1_SEARCH_LIMIT;
	bool bad_checksum = false;
	uint32_t bad_at = 0, bad_sum = 0;

	memset(hdr, 0, sizeof(*hdr));
	if (why && why_len)
		why[0] = '\0';
	/* 3.1: the whole header lies in the first 8192 bytes, 32-bit aligned. */
	for (uint64_t off = 0; off + MB1_HEADER_BASE_SIZE <= limit; off += MB1_HEADER_ALIGN) {
		if (read32(img + off) != MB1_HEADER_MAGIC)
			continue;
		const uint32_t flags = read32(img + off + sizeof(uint32_t));
		const uint32_t checksum = read32(img + off + 2 * sizeof(uint32_t));
		if ((uint32_t)(MB1_HEADER_MAGIC + flags + checksum) != 0) {
			/* 3.1.2: magic + flags + checksum = 0; keep looking (the magic may be data). */
			if (!bad_checksum)
				bad_checksum = true, bad_at = (uint32_t)off, bad_sum = MB1_HEADER_MAGIC + flags + checksum;
			continue;
		}
		const uint64_t avail = limit - off < sizeof(*hdr) ? limit - off : sizeof(*hdr);
		memcpy(hdr, img + off, avail);
		*offset = (uint32_t)off;
		return MB1_HEADER_FOUND;
	}
	if (bad_checksum) {
		refuse(why, why_len,
		       "the Multiboot1 header at offset 0x%x has a bad checksum: magic + flags + checksum is 0x%x, "
		       "not 0 (Multiboot 0.6.96 3.1.2): fix the checksum field", bad_at, bad_sum);
		return MB1_HEADER_BAD;
	}
	/* No header: say whether a magic is there in the wrong place (a common linker-script mistake). */
	const uint64_t hint_limit = size < MB1_HINT_LIMIT ? size : MB1_HINT_LIMIT;
	for (uint64_t off = 0; off + sizeof(uint32_t) <= hint_limit; off++) {
		if (read32(img + off) != MB1_HEADER_MAGIC)
			continue;
		if (off % MB1_HEADER_ALIGN)
			refuse(why, why_len, "a Multiboot1 magic at offset 0x%llx is not 4-byte aligned (3.1)",
			       (unsigned long long)off);
		else if (off + MB1_HEADER_BASE_SIZE > MB1_SEARCH_LIMIT)
			refuse(why, why_len, "a Multiboot1 magic at offset 0x%llx is not within the first %u bytes (3.1)",
			       (unsigned long long)off, MB1_SEARCH_LIMIT);
		else
			continue; /* an aligned magic whose header runs past the end of the file */
		break;
	}
	return MB1_HEADER_ABSENT;
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* 3.1.3: the address fields describe one load of the file from the header's offset backwards. */
static int plan_aout_kludge(const struct mb1_header *h, uint32_t header_offset, uint64_t size, uint64_t mem_limit,
			    struct elf_image *load, char *why, size_t why_len)
{
	if (header_offset + (uint64_t)MB1_HEADER_AOUT_SIZE > (size < MB1_SEARCH_LIMIT ? size : MB1_SEARCH_LIMIT))
		return refuse(why, why_len, "the Multiboot1 header at offset 0x%x sets flag 16 (address fields) but the "
			      "first 8192 bytes end before entry_addr: add the address fields or clear flag 16", header_offset);
	if (h->header_addr < h->load_addr)
		return refuse(why, why_len, "Multiboot1 header_addr 0x%x is below load_addr 0x%x (3.1.3): fix the "
			      "address fields", h->header_addr, h->load_addr);
	if (h->header_addr - h->load_addr > header_offset)
		return refuse(why, why_len, "Multiboot1 header_addr 0x%x - load_addr 0x%x = 0x%x, but the header is at "
			      "file offset 0x%x: load_addr would lie before the start of the file (3.1.3): fix the "
			      "address fields", h->header_addr, h->load_addr, h->header_addr - h->load_addr,
			      header_offset);
	const uint64_t file_start = header_offset - (h->header_addr - h->load_addr);
	uint64_t load_end = h->load_end_addr;
	if (load_end == 0) {
		load_end = h->load_addr + (size - file_start); /* 3.1.3: 0 = the whole rest of the file */
	} else if (load_end < h->load_addr) {
		return refuse(why, why_len, "Multiboot1 load_end_addr 0x%x is below load_addr 0x%x (3.1.3): fix the "
			      "address fields", h->load_end_addr, h->load_addr);
	} else if (file_start + (load_end - h->load_addr) > size) {
		return refuse(why, why_len, "Multiboot1 load_end_addr 0x%x asks for 0x%llx bytes from file offset 0x%llx "
			      "but the image has 0x%llx bytes: the file is truncated or load_end_addr is wrong",
			      h->load_end_addr, (unsigned long long)(load_end - h->load_addr),
			      (unsigned long long)file_start, (unsigned long long)size);
	}
	uint64_t end = load_end;
	if (h->bss_end_addr != 0) {
		if (h->bss_end_addr < load_end)
			return refuse(why, why_len, "Multiboot1 bss_end_addr 0x%x is below load_end_addr 0x%llx (3.1.3): fix "
				      "the address fields", h->bss_end_addr, (unsigned long long)load_end);
		end = h->bss_end_addr;
	}
	if (end > mem_limit)
		return refuse(why, why_len, "the Multiboot1 image [0x%x-0x%llx) does not fit in guest memory [0x0-0x%llx): "
			      "give the guest more memory or link the kernel lower", h->load_addr,
			      (unsigned long long)end, (unsigned long long)mem_limit);
	if (h->entry_addr < h->load_addr || h->entry_addr >= end)
		return refuse(why, why_len, "Multiboot1 entry_addr 0x%x is outside the loaded image [0x%x-0x%llx) (3.1.3): "
			      "fix entry_addr", h->entry_addr, h->load_addr, (unsigned long long)end);
	memset(load, 0, sizeof(*load));
	load->seg[0] = (struct elf_segment){
		.paddr = h->load_addr, .vaddr = h->load_addr, .offset = file_start,
		.filesz = load_end - h->load_addr, .memsz = end - h->load_addr,
		.flags = ELF_PF_R | ELF_PF_W | ELF_PF_X, .index = 0,
	};
	load->nsegs = 1;
	load->entry = load->entry_gpa = h->entry_addr;
	load->lowest = h->load_addr;
	load->highest = end;
	return 0;
}

int mb1_parse(const void *image, uint64_t size, uint64_t mem_limit, const struct mb1_range *reserved,
	      unsigned nr_reserved, struct mb1_image *out, char *why, size_t why_len)
{
	memset(out, 0, sizeof(*out));
	switch (mb1_header_find(image, size, &out->header, &out->header_offset, why, why_len)) {
	case MB1_HEADER_FOUND: break;
	case MB1_HEADER_BAD: return -1;
	case MB1_HEADER_ABSENT: {
		char hint[MB1_WHY_LEN];
		hv_snprintf(hint, sizeof(hint), "%s", why && why[0] ? why : "");
		return refuse(why, why_len, "no Multiboot1 header (magic 0x%x) at a 4-byte-aligned offset in the first %u "
			      "bytes%s%s", MB1_HEADER_MAGIC, MB1_SEARCH_LIMIT, hint[0] ? ": " : "", hint);
	}
	}
	const struct mb1_header *h = &out->header;
	/* 3.1.2: a loader that does not understand a set bit in 0-15 must refuse the image. */
	for (unsigned bit = 0; bit < MB1_FLAG_BITS; bit++) {
		if ((h->flags & (1u << bit)) && ((1u << bit) & MB1_REQUIRED_FLAGS_MASK) && !mb1_header_flag_text(bit))
			return refuse(why, why_len, "the Multiboot1 header requires flag bit %u, which this monitor does not "
				      "support (3.1.2): clear it in the kernel's header", bit);
	}
	int rc;
	if (h->flags & MB1_HEADER_AOUT_KLUDGE) {
		out->aout_kludge = 1;
		rc = plan_aout_kludge(h, out->header_offset, size, mem_limit, &out->load, why, why_len);
	} else {
		char elf_why[ELF_WHY_LEN];
		rc = elf_parse_classes(image, size, mem_limit, ELF_ACCEPT_32 | ELF_ACCEPT_64, &out->load, elf_why,
				       sizeof(elf_why));
		out->elf_class = (int)out->load.elf_class;
		if (rc != 0)
			return refuse(why, why_len, "the Multiboot1 header has no address fields (flag 16), so the image "
				      "must be an ELF32 or ELF64 executable, but: %s", elf_why);
	}
	if (rc != 0)
		return -1;
	for (unsigned i = 0; i < out->load.nsegs; i++) {
		const struct elf_segment *s = &out->load.seg[i];
		for (unsigned r = 0; r < nr_reserved; r++) {
			if (overlaps(s->paddr, s->memsz, reserved[r].base, reserved[r].size))
				return refuse(why, why_len, "Multiboot1 image segment %u [0x%llx-0x%llx) overlaps the %s "
					      "[0x%llx-0x%llx) the monitor reserves: link the kernel at 1 MiB or above",
					      s->index, (unsigned long long)s->paddr, (unsigned long long)(s->paddr + s->memsz),
					      reserved[r].name, (unsigned long long)reserved[r].base,
					      (unsigned long long)(reserved[r].base + reserved[r].size));
		}
	}
	if (out->load.entry_gpa >= FOUR_GIB)
		return refuse(why, why_len, "the Multiboot1 entry point 0x%llx is above 4 GiB: a 32-bit entry is required",
			      (unsigned long long)out->load.entry_gpa);
	return 0;
}

/* Append n bytes at *len; returns their offset, or UINT32_MAX when they do not fit. */
static uint32_t append(uint8_t *buf, uint32_t cap, uint32_t *len, const void *src, uint32_t n)
{
	if (n > cap - *len)
		return UINT32_MAX;
	const uint32_t at = *len;
	memcpy(buf + at, src, n);
	*len += n;
	return at;
}

uint32_t mb1_info_build(void *buf, uint32_t cap, uint32_t base, const struct mb1_info_params *p)
{
	uint8_t *b = buf;
	struct mb1_info info;
	uint32_t len = sizeof(info), at;

	if (cap < sizeof(info))
		return 0;
	memset(&info, 0, sizeof(info));
	memset(b, 0, sizeof(info));
	info.flags = MB1_INFO_MEMORY | MB1_INFO_CMDLINE | MB1_INFO_MEM_MAP | MB1_INFO_BOOT_LOADER_NAME;
	info.mem_lower = (uint32_t)(p->mem_lower_bytes / 1024u); /* 3.3: in kilobytes */
	info.mem_upper = (uint32_t)(p->mem_upper_bytes / 1024u);

	info.mmap_addr = base + len;
	for (unsigned i = 0; i < p->mmap_count; i++) {
		struct mb1_mmap_entry e = p->mmap[i];
		e.size = MB1_MMAP_ENTRY_SIZE_FIELD; /* 3.3: the size of the entry without the size field */
		if (append(b, cap, &len, &e, sizeof(e)) == UINT32_MAX)
			return 0;
	}
	info.mmap_length = len - (info.mmap_addr - base);
	if ((at = append(b, cap, &len, p->cmdline, (uint32_t)strlen(p->cmdline) + 1)) == UINT32_MAX)
		return 0;
	info.cmdline = base + at;
	if ((at = append(b, cap, &len, p->boot_loader_name, (uint32_t)strlen(p->boot_loader_name) + 1)) == UINT32_MAX)
		return 0;
	info.boot_loader_name = base + at;
	memcpy(b, &info, sizeof(info));
	return len;
}
