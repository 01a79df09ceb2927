/*
 * Checking and applying R_X86_64_RELATIVE relocations (vmm/include/vmm/elf_rela.h).
 * Runs in the monitor before its own relocations are applied: it reads no
 * address from data (built with HV_PRE_RELOCATION_CFLAGS, see the Makefile).
 */
#include <stddef.h>
#include "vmm/elf_rela.h"

/* One 64-bit field at any alignment (psABI word64). */
typedef uint64_t __attribute__((aligned(1), may_alias)) unaligned_u64;

static int refuse(struct elf_rela_error *err, enum elf_rela_status status, uint64_t index,
		  const struct elf64_rela *r)
{
	err->status = status;
	err->index = index;
	err->type = ELF64_R_TYPE(r->r_info);
	err->offset = r->r_offset;
	return -1;
}

int elf_rela_check(uint64_t link_base, uint64_t image_size, const struct elf64_rela *rela, uint64_t count,
		   struct elf_rela_error *err)
{
	for (uint64_t i = 0; i < count; i++) {
		const struct elf64_rela *r = &rela[i];
		uint32_t type = ELF64_R_TYPE(r->r_info);

		if (type == R_X86_64_NONE)
			continue;
		if (type != R_X86_64_RELATIVE)
			return refuse(err, ELF_RELA_BAD_TYPE, i, r);
		if (ELF64_R_SYM(r->r_info) != 0)
			return refuse(err, ELF_RELA_BAD_SYMBOL, i, r);
		/* r_offset - link_base + 8 <= image_size, written so that nothing overflows. */
		if (r->r_offset < link_base || image_size < ELF_RELA_FIELD_SIZE ||
		    r->r_offset - link_base > image_size - ELF_RELA_FIELD_SIZE)
			return refuse(err, ELF_RELA_OUT_OF_BOUNDS, i, r);
	}
	err->status = ELF_RELA_OK;
	return 0;
}

int elf_rela_apply(void *image, uint64_t link_base, uint64_t load_base, uint64_t image_size,
		   const struct elf64_rela *rela, uint64_t count, struct elf_rela_error *err)
{
	uint64_t b = load_base - link_base; /* psABI "B", modulo 2^64 */

	if (elf_rela_check(link_base, image_size, rela, count, err) != 0)
		return -1;
	for (uint64_t i = 0; i < count; i++) {
		const struct elf64_rela *r = &rela[i];

		if (ELF64_R_TYPE(r->r_info) != R_X86_64_RELATIVE)
			continue;
		*(unaligned_u64 *)((uint8_t *)image + (r->r_offset - link_base)) = b + (uint64_t)r->r_addend;
	}
	return 0;
}

const char *elf_rela_status_text(enum elf_rela_status status)
{
	if (status == ELF_RELA_OK)
		return "no error";
	if (status == ELF_RELA_BAD_TYPE)
		return "its relocation type is neither R_X86_64_RELATIVE nor R_X86_64_NONE";
	if (status == ELF_RELA_BAD_SYMBOL)
		return "it is R_X86_64_RELATIVE but names a symbol (the symbol index must be 0)";
	if (status == ELF_RELA_OUT_OF_BOUNDS)
		return "the 8 bytes it writes at r_offset are not inside the image";
	return "unknown relocation error";
}
