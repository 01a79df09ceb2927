/*
 * Guest kernel image: parsing and loading an ELF64 x86-64 executable
 * (System V gABI "ELF-64 Object File Format", x86-64 psABI).
 *
 * The image is untrusted input: elf_parse() checks every header field and
 * every bound (without overflow) before anything is loaded, and explains any
 * refusal in one sentence.  Segments are loaded at their physical address
 * (p_paddr), which must lie inside [0, mem_limit).  Unit-tested on the host
 * (tests/unit/test_elf.c).
 */
#ifndef VMM_ELF_H
#define VMM_ELF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* e_ident (gABI "ELF identification"). */
#define ELF_EI_NIDENT   16
#define ELF_EI_MAG0     0
#define ELF_EI_CLASS    4
#define ELF_EI_DATA     5
#define ELF_EI_VERSION  6
#define ELF_MAG0        0x7f
#define ELF_MAG1        'E'
#define ELF_MAG2        'L'
#define ELF_MAG3        'F'
#define ELF_MAG_LEN     4
#define ELF_CLASS32     1
#define ELF_CLASS64     2
#define ELF_DATA2LSB    1
#define ELF_EV_CURRENT  1
#define ELF_ET_EXEC     2
#define ELF_ET_DYN      3 /* also a position-independent executable (the monitor, linker.ld) */
#define ELF_EM_386      3
#define ELF_EM_X86_64   62
#define ELF_PT_LOAD     1
#define ELF_PT_DYNAMIC  2
#define ELF_PT_INTERP   3
#define ELF_PF_X        (1u << 0)
#define ELF_PF_W        (1u << 1)
#define ELF_PF_R        (1u << 2)

/* File header and program header, exactly as in the file (little endian). */
struct elf64_ehdr {
	uint8_t e_ident[ELF_EI_NIDENT];
	uint16_t e_type, e_machine;
	uint32_t e_version;
	uint64_t e_entry, e_phoff, e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};

struct elf64_phdr {
	uint32_t p_type, p_flags;
	uint64_t p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_align;
};

/* ELF32 (gABI "ELF-32", i386 psABI): the same fields, 32 bits wide, p_flags moved. */
struct elf32_ehdr {
	uint8_t e_ident[ELF_EI_NIDENT];
	uint16_t e_type, e_machine;
	uint32_t e_version;
	uint32_t e_entry, e_phoff, e_shoff;
	uint32_t e_flags;
	uint16_t e_ehsize, e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx;
};

struct elf32_phdr {
	uint32_t p_type, p_offset, p_vaddr, p_paddr, p_filesz, p_memsz, p_flags, p_align;
};

#define ELF32_EHDR_SIZE 52u
#define ELF32_PHDR_SIZE 32u
_Static_assert(sizeof(struct elf32_ehdr) == ELF32_EHDR_SIZE, "ELF32 file header layout");
_Static_assert(sizeof(struct elf32_phdr) == ELF32_PHDR_SIZE, "ELF32 program header layout");

#define ELF64_EHDR_SIZE 64u
#define ELF64_PHDR_SIZE 56u
_Static_assert(sizeof(struct elf64_ehdr) == ELF64_EHDR_SIZE, "ELF64 file header layout");
_Static_assert(sizeof(struct elf64_phdr) == ELF64_PHDR_SIZE, "ELF64 program header layout");

#define ELF_MAX_SEGMENTS 16 /* PT_LOAD segments accepted */
#define ELF_WHY_LEN      192 /* a why buffer of this size holds any refusal in full */

/* One PT_LOAD segment.  index is its program-header index ("segment N" in messages). */
struct elf_segment {
	uint64_t paddr, vaddr, offset, filesz, memsz;
	uint32_t flags; /* ELF_PF_* */
	unsigned index;
};

struct elf_image {
	uint64_t entry;      /* e_entry (a virtual address) */
	uint64_t entry_gpa;  /* e_entry translated through its segment: p_paddr + (e_entry - p_vaddr) */
	uint64_t lowest;     /* lowest p_paddr of the segments */
	uint64_t highest;    /* highest p_paddr + p_memsz (exclusive) */
	unsigned nsegs;      /* PT_LOAD segments, in program-header order */
	unsigned elf_class;  /* ELF_CLASS32 or ELF_CLASS64 */
	struct elf_segment seg[ELF_MAX_SEGMENTS];
};

/*
 * Check an ELF64 x86-64 EXEC image of `size` bytes and describe its PT_LOAD
 * segments in *out.  Refuses (returns -1 and writes one sentence into why,
 * truncated to why_len, NUL-terminated when why_len > 0; why may be NULL) on:
 * a file shorter than the header; bad magic, class, byte order, version,
 * machine or type; e_phentsize other than 56; program headers outside the file
 * (or overflowing); more than ELF_MAX_SEGMENTS PT_LOAD segments; p_filesz >
 * p_memsz; file data outside the file (or overflowing); p_paddr + p_memsz
 * beyond mem_limit (or overflowing); segments overlapping in guest-physical
 * memory; no PT_LOAD segment; e_entry not inside a loaded executable segment
 * (by virtual address).  Zero-sized PT_LOAD segments are accepted and kept.
 * Returns 0 on success (why is then set to ""); on failure *out is unspecified.
 */
int elf_parse(const void *image, uint64_t size, uint64_t mem_limit, struct elf_image *out, char *why,
	      size_t why_len);

/* The classes elf_parse_classes() accepts (a mask). */
enum elf_accept {
	ELF_ACCEPT_64 = 1u << 0, /* ELFCLASS64, EM_X86_64 */
	ELF_ACCEPT_32 = 1u << 1, /* ELFCLASS32, EM_386 (a Multiboot1 kernel may be either) */
};

/*
 * elf_parse() for the classes in `accept` (enum elf_accept): an ELF32 image must be EM_386 with
 * 32-byte program headers; its fields are widened into *out, and every check above applies.
 * elf_parse() is elf_parse_classes(..., ELF_ACCEPT_64, ...).
 */
int elf_parse_classes(const void *image, uint64_t size, uint64_t mem_limit, unsigned accept,
		      struct elf_image *out, char *why, size_t why_len);

/*
 * Load a parsed image: for each segment, write(ctx, p_paddr, image + p_offset,
 * p_filesz) and, when p_memsz > p_filesz, zero(ctx, p_paddr + p_filesz,
 * p_memsz - p_filesz).  Empty writes/zeroings are skipped.  `img` must come
 * from elf_parse() of the same image.  Returns 0, or the first non-zero
 * callback result (the load stops there).
 */
int elf_load(const void *image, const struct elf_image *img,
	     int (*write)(void *ctx, uint64_t gpa, const void *src, uint64_t len),
	     int (*zero)(void *ctx, uint64_t gpa, uint64_t len), void *ctx);

#endif
