/*
 * Guest ELF64 image parsing and loading (see vmm/include/vmm/elf.h).
 * Every header is copied out of the image with memcpy (the image may be
 * unaligned) and every sum is checked for overflow before it is used.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "vmm/elf.h"

#define HEX_DIGITS_64 16u
#define DEC_DIGITS_64 20u
#define HEX_BASE      16u
#define DEC_BASE      10u

static void put_char(char *buf, size_t len, size_t *pos, char c)
{
	if (*pos + 1 < len)
		buf[*pos] = c;
	(*pos)++;
}

static void put_uint(char *buf, size_t len, size_t *pos, uint64_t v, unsigned base)
{
	static const char digits[] = "0123456789abcdef";
	char tmp[DEC_DIGITS_64 > HEX_DIGITS_64 ? DEC_DIGITS_64 : HEX_DIGITS_64];
	unsigned n = 0;
	do {
		tmp[n++] = digits[v % base];
		v /= base;
	} while (v);
	if (base == HEX_BASE) {
		put_char(buf, len, pos, '0');
		put_char(buf, len, pos, 'x');
	}
	while (n)
		put_char(buf, len, pos, tmp[--n]);
}

/*
 * Write a refusal into why and return -1.  Conversions: %s (const char *),
 * %u (uint64_t, decimal), %x (uint64_t, 0x-prefixed hex).  Pass uint64_t only.
 */
static int refuse(char *why, size_t len, const char *fmt, ...)
{
	if (!why || len == 0)
		return -1;
	size_t pos = 0;
	va_list ap;
	va_start(ap, fmt);
	for (const char *f = fmt; *f; f++) {
		if (*f != '%' || !f[1]) {
			put_char(why, len, &pos, *f);
			continue;
		}
		f++;
		if (*f == 's') {
			for (const char *s = va_arg(ap, const char *); *s; s++)
				put_char(why, len, &pos, *s);
		} else if (*f == 'u' || *f == 'x') {
			put_uint(why, len, &pos, va_arg(ap, uint64_t), *f == 'u' ? DEC_BASE : HEX_BASE);
		} else {
			put_char(why, len, &pos, *f);
		}
	}
	va_end(ap);
	why[pos < len ? pos : len - 1] = '\0';
	return -1;
}

/* [a, a + alen) and [b, b + blen) share a byte (empty ranges share none). */
static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return alen && blen && a < b + blen && b < a + alen;
}

/* Checks of one PT_LOAD program header; index i is its program-header index. */
static int check_segment(const struct elf64_phdr *ph, unsigned i, uint64_t size, uint64_t mem_limit,
			 char *why, size_t why_len)
{
	const uint64_t n = i;
	if (ph->p_filesz > ph->p_memsz)
		return refuse(why, why_len, "segment %u: file size %x exceeds memory size %x", n, ph->p_filesz,
			      ph->p_memsz);
	if (ph->p_offset > UINT64_MAX - ph->p_filesz)
		return refuse(why, why_len, "segment %u: file offset %x + file size %x overflows", n, ph->p_offset,
			      ph->p_filesz);
	if (ph->p_offset + ph->p_filesz > size)
		return refuse(why, why_len, "truncated: segment %u data ends at byte %u but the image has %u bytes", n,
			      ph->p_offset + ph->p_filesz, size);
	if (ph->p_paddr > UINT64_MAX - ph->p_memsz)
		return refuse(why, why_len, "segment %u: physical address %x + memory size %x overflows", n,
			      ph->p_paddr, ph->p_memsz);
	if (ph->p_vaddr > UINT64_MAX - ph->p_memsz)
		return refuse(why, why_len, "segment %u: virtual address %x + memory size %x overflows", n,
			      ph->p_vaddr, ph->p_memsz);
	if (ph->p_paddr + ph->p_memsz > mem_limit)
		return refuse(why, why_len, "segment %u [%x-%x) does not fit in guest memory [0x0-%x)", n, ph->p_paddr,
			      ph->p_paddr + ph->p_memsz, mem_limit);
	return 0;
}

/* The file header of either class, widened to the ELF64 form. */
static void read_ehdr32(const uint8_t *img, struct elf64_ehdr *eh)
{
	struct elf32_ehdr e;
	memcpy(&e, img, sizeof(e));
	memcpy(eh->e_ident, e.e_ident, sizeof(eh->e_ident));
	eh->e_type = e.e_type, eh->e_machine = e.e_machine, eh->e_version = e.e_version;
	eh->e_entry = e.e_entry, eh->e_phoff = e.e_phoff, eh->e_shoff = e.e_shoff;
	eh->e_flags = e.e_flags, eh->e_ehsize = e.e_ehsize, eh->e_phentsize = e.e_phentsize;
	eh->e_phnum = e.e_phnum, eh->e_shentsize = e.e_shentsize, eh->e_shnum = e.e_shnum;
	eh->e_shstrndx = e.e_shstrndx;
}

static void read_phdr(const uint8_t *src, unsigned elf_class, struct elf64_phdr *ph)
{
	if (elf_class == ELF_CLASS64) {
		memcpy(ph, src, sizeof(*ph));
		return;
	}
	struct elf32_phdr p;
	memcpy(&p, src, sizeof(p));
	*ph = (struct elf64_phdr){
		.p_type = p.p_type, .p_flags = p.p_flags, .p_offset = p.p_offset, .p_vaddr = p.p_vaddr,
		.p_paddr = p.p_paddr, .p_filesz = p.p_filesz, .p_memsz = p.p_memsz, .p_align = p.p_align,
	};
}

int elf_parse(const void *image, uint64_t size, uint64_t mem_limit, struct elf_image *out, char *why,
	      size_t why_len)
{
	return elf_parse_classes(image, size, mem_limit, ELF_ACCEPT_64, out, why, why_len);
}

int elf_parse_classes(const void *image, uint64_t size, uint64_t mem_limit, unsigned accept,
		      struct elf_image *out, char *why, size_t why_len)
{
	static const uint8_t magic[ELF_MAG_LEN] = { ELF_MAG0, ELF_MAG1, ELF_MAG2, ELF_MAG3 };
	const uint8_t *img = image;
	struct elf64_ehdr eh;
	/* The smallest header of the classes accepted: enough to read EI_CLASS. */
	const uint64_t min_size = (accept & ELF_ACCEPT_32) ? ELF32_EHDR_SIZE : ELF64_EHDR_SIZE;

	memset(out, 0, sizeof(*out));
	if (why && why_len)
		why[0] = '\0';
	if (!image || size < min_size)
		return refuse(why, why_len, "truncated: the ELF header needs %u bytes but the image has %u bytes",
			      min_size, image ? size : 0);
	if (memcmp(img, magic, ELF_MAG_LEN) != 0)
		return refuse(why, why_len, "not an ELF image: the first four bytes are not 7f 45 4c 46");
	const unsigned elf_class = img[ELF_EI_CLASS];
	const bool class_ok = (elf_class == ELF_CLASS64 && (accept & ELF_ACCEPT_64)) ||
			      (elf_class == ELF_CLASS32 && (accept & ELF_ACCEPT_32));
	if (!class_ok && accept == ELF_ACCEPT_64)
		return refuse(why, why_len, "not a 64-bit ELF image: EI_CLASS is %u, expected %u", (uint64_t)elf_class,
			      (uint64_t)ELF_CLASS64);
	if (!class_ok)
		return refuse(why, why_len, "unsupported ELF class: EI_CLASS is %u, expected %u (ELF32) or %u (ELF64)",
			      (uint64_t)elf_class, (uint64_t)ELF_CLASS32, (uint64_t)ELF_CLASS64);
	const bool is64 = elf_class == ELF_CLASS64;
	const uint64_t ehdr_size = is64 ? ELF64_EHDR_SIZE : ELF32_EHDR_SIZE;
	const uint64_t phdr_size = is64 ? ELF64_PHDR_SIZE : ELF32_PHDR_SIZE;
	const uint64_t machine = is64 ? ELF_EM_X86_64 : ELF_EM_386;
	if (size < ehdr_size)
		return refuse(why, why_len, "truncated: the ELF header needs %u bytes but the image has %u bytes",
			      ehdr_size, size);
	if (is64)
		memcpy(&eh, img, sizeof(eh));
	else
		read_ehdr32(img, &eh);
	out->elf_class = elf_class;
	if (eh.e_ident[ELF_EI_DATA] != ELF_DATA2LSB)
		return refuse(why, why_len, "not a little-endian ELF image: EI_DATA is %u, expected %u",
			      (uint64_t)eh.e_ident[ELF_EI_DATA], (uint64_t)ELF_DATA2LSB);
	if (eh.e_ident[ELF_EI_VERSION] != ELF_EV_CURRENT || eh.e_version != ELF_EV_CURRENT)
		return refuse(why, why_len, "unsupported ELF version %u/%u, expected %u",
			      (uint64_t)eh.e_ident[ELF_EI_VERSION], (uint64_t)eh.e_version, (uint64_t)ELF_EV_CURRENT);
	if (eh.e_machine != machine)
		return refuse(why, why_len, "not an %s image: e_machine is %u, expected %u", is64 ? "x86-64" : "i386",
			      (uint64_t)eh.e_machine, machine);
	if (eh.e_type != ELF_ET_EXEC)
		return refuse(why, why_len, "not an executable: e_type is %u, expected %u (ET_EXEC)",
			      (uint64_t)eh.e_type, (uint64_t)ELF_ET_EXEC);
	if (eh.e_phentsize != phdr_size)
		return refuse(why, why_len, "program header entries are %u bytes, expected %u",
			      (uint64_t)eh.e_phentsize, phdr_size);

	const uint64_t table = (uint64_t)eh.e_phnum * phdr_size; /* < 2^22: no overflow */
	if (eh.e_phoff > UINT64_MAX - table)
		return refuse(why, why_len, "program header table at offset %x (%u bytes) overflows", eh.e_phoff,
			      table);
	if (eh.e_phoff + table > size)
		return refuse(why, why_len, "truncated: program headers end at byte %u but the image has %u bytes",
			      eh.e_phoff + table, size);

	for (unsigned i = 0; i < eh.e_phnum; i++) {
		struct elf64_phdr ph;
		read_phdr(img + eh.e_phoff + (uint64_t)i * phdr_size, elf_class, &ph);
		if (ph.p_type != ELF_PT_LOAD)
			continue;
		if (out->nsegs == ELF_MAX_SEGMENTS)
			return refuse(why, why_len, "too many PT_LOAD segments: more than %u",
				      (uint64_t)ELF_MAX_SEGMENTS);
		if (check_segment(&ph, i, size, mem_limit, why, why_len) != 0)
			return -1;
		for (unsigned k = 0; k < out->nsegs; k++) {
			const struct elf_segment *o = &out->seg[k];
			if (overlaps(ph.p_paddr, ph.p_memsz, o->paddr, o->memsz))
				return refuse(why, why_len, "segment %u [%x-%x) overlaps segment %u [%x-%x)",
					      (uint64_t)i, ph.p_paddr, ph.p_paddr + ph.p_memsz, (uint64_t)o->index,
					      o->paddr, o->paddr + o->memsz);
		}
		out->seg[out->nsegs++] = (struct elf_segment){
			.paddr = ph.p_paddr, .vaddr = ph.p_vaddr, .offset = ph.p_offset,
			.filesz = ph.p_filesz, .memsz = ph.p_memsz, .flags = ph.p_flags, .index = i,
		};
	}
	if (out->nsegs == 0)
		return refuse(why, why_len, "no PT_LOAD segment: nothing to load");

	bool entry_ok = false;
	out->entry = eh.e_entry;
	out->lowest = UINT64_MAX;
	for (unsigned k = 0; k < out->nsegs; k++) {
		const struct elf_segment *s = &out->seg[k];
		if (s->paddr < out->lowest)
			out->lowest = s->paddr;
		if (s->paddr + s->memsz > out->highest)
			out->highest = s->paddr + s->memsz;
		if (!entry_ok && (s->flags & ELF_PF_X) && eh.e_entry >= s->vaddr && eh.e_entry - s->vaddr < s->memsz) {
			entry_ok = true;
			out->entry_gpa = s->paddr + (eh.e_entry - s->vaddr);
		}
	}
	if (!entry_ok)
		return refuse(why, why_len, "entry point %x is not inside a loaded executable segment", eh.e_entry);
	return 0;
}

int elf_load(const void *image, const struct elf_image *img,
	     int (*write)(void *ctx, uint64_t gpa, const void *src, uint64_t len),
	     int (*zero)(void *ctx, uint64_t gpa, uint64_t len), void *ctx)
{
	const uint8_t *base = image;
	for (unsigned k = 0; k < img->nsegs; k++) {
		const struct elf_segment *s = &img->seg[k];
		int rc;
		if (s->filesz && (rc = write(ctx, s->paddr, base + s->offset, s->filesz)) != 0)
			return rc;
		if (s->memsz > s->filesz && (rc = zero(ctx, s->paddr + s->filesz, s->memsz - s->filesz)) != 0)
			return rc;
	}
	return 0;
}
