/*
 * Relocating a position-independent image: checking and applying the RELA
 * entries of its dynamic relocation table (System V gABI "Relocation",
 * "Dynamic Section"; x86-64 psABI 4.4 "Relocation").
 *
 * The monitor is linked -pie and carries only R_X86_64_RELATIVE relocations
 * (linker.ld): "B + A", the load base plus the addend, written as 64 bits at
 * r_offset.  vmm/platform/reloc_self.c applies them to the monitor at its entry;
 * boot/efi/monitor.c checks them before it starts the monitor.  Nothing here
 * reads an address from data, so it runs before the relocations are applied.
 * Unit-tested on the host (tests/unit/test_elf_rela.c).
 */
#ifndef VMM_ELF_RELA_H
#define VMM_ELF_RELA_H

#include <stdint.h>

/* Dynamic section tags (gABI "Dynamic Section", Figure "Dynamic Array Tags"). */
#define ELF_DT_NULL     0
#define ELF_DT_NEEDED   1
#define ELF_DT_PLTRELSZ 2
#define ELF_DT_RELA     7
#define ELF_DT_RELASZ   8
#define ELF_DT_RELAENT  9
#define ELF_DT_REL      17
#define ELF_DT_RELSZ    18
#define ELF_DT_TEXTREL  22
#define ELF_DT_JMPREL   23

/* Relocation types (x86-64 psABI Table 4.9). */
#define R_X86_64_NONE     0
#define R_X86_64_RELATIVE 8

/* r_info (gABI "Relocation Entries", ELF64_R_SYM / ELF64_R_TYPE). */
#define ELF64_R_SYM(info)  ((uint32_t)((info) >> 32))
#define ELF64_R_TYPE(info) ((uint32_t)(info))
#define ELF64_R_INFO(sym, type) (((uint64_t)(sym) << 32) | (uint32_t)(type))

struct elf64_rela {
	uint64_t r_offset;
	uint64_t r_info;
	int64_t r_addend;
};

struct elf64_dyn {
	int64_t d_tag;
	uint64_t d_val; /* d_un: d_val or d_ptr */
};

#define ELF64_RELA_SIZE 24u
#define ELF64_DYN_SIZE  16u
_Static_assert(sizeof(struct elf64_rela) == ELF64_RELA_SIZE, "ELF64 RELA entry layout");
_Static_assert(sizeof(struct elf64_dyn) == ELF64_DYN_SIZE, "ELF64 dynamic entry layout");

/* The bytes an R_X86_64_RELATIVE relocation writes (a word64 field, psABI 4.4.1). */
#define ELF_RELA_FIELD_SIZE 8u

enum elf_rela_status {
	ELF_RELA_OK = 0,
	ELF_RELA_BAD_TYPE,      /* a relocation type other than R_X86_64_RELATIVE or R_X86_64_NONE */
	ELF_RELA_BAD_SYMBOL,    /* an R_X86_64_RELATIVE entry that names a symbol (it must be 0) */
	ELF_RELA_OUT_OF_BOUNDS, /* the 8-byte field at r_offset is not inside the image */
};

/* Which entry was refused and why (valid when a function returned non-zero). */
struct elf_rela_error {
	enum elf_rela_status status;
	uint64_t index;    /* the entry, counted from 0 */
	uint32_t type;     /* its ELF64_R_TYPE */
	uint64_t offset;   /* its r_offset */
};

/*
 * An image linked at link_base, image_size bytes: check `count` RELA entries
 * without changing anything.  Every entry must be R_X86_64_NONE, or
 * R_X86_64_RELATIVE with symbol 0 and its 8-byte field inside
 * [link_base, link_base + image_size).  Returns 0, or -1 with *err filled.
 */
int elf_rela_check(uint64_t link_base, uint64_t image_size, const struct elf64_rela *rela, uint64_t count,
		   struct elf_rela_error *err);

/*
 * Check all entries as elf_rela_check() does, then, only when every one is
 * acceptable, apply them to the image that was linked at link_base and now
 * lies at `image` (its run-time address, load_base): each R_X86_64_RELATIVE
 * field becomes (load_base - link_base) + r_addend, "B + A".  The result does
 * not depend on what the field held, so applying a table twice is harmless.
 * Fields need not be aligned.  Returns 0, or -1 with *err filled and the
 * image untouched.
 */
int elf_rela_apply(void *image, uint64_t link_base, uint64_t load_base, uint64_t image_size,
		   const struct elf64_rela *rela, uint64_t count, struct elf_rela_error *err);

/* A sentence for a status ("relocation type is not R_X86_64_RELATIVE"); never NULL. */
const char *elf_rela_status_text(enum elf_rela_status status);

#endif
