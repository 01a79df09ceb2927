/*
 * The monitor's image: a position-independent ELF64 x86-64 executable
 * (ET_DYN, System V gABI, x86-64 psABI) linked at 0 (linker.ld), which runs
 * wherever it is put.  The loader takes pages anywhere below 4 GiB (the
 * monitor's boot page tables identity-map [0, 4 GiB)) with
 * AllocatePages(AllocateMaxAddress, EfiLoaderCode), so the firmware's memory
 * map (and so the monitor's bootinfo) shows them as loader memory, and copies
 * the PT_LOAD segments there at their offsets from the image's start.
 *
 * The image's relocations are checked here, strictly (only
 * R_X86_64_RELATIVE, each inside the image), so that a bad image is refused
 * on screen; the monitor applies them itself at entry (vmm/platform/reloc_self.c), as
 * it must under GRUB, which applies none.
 */
#include "loader.h"

#include <vmm/elf.h>
#include <vmm/elf_rela.h>

/* The highest address the monitor may occupy: its boot page tables map [0, 4 GiB). */
#define MONITOR_MAX_ADDRESS 0xffffffffull

#define PAGE_MASK ((UINT64)EFI_PAGE_SIZE - 1)

/* Why the embedded image is wrong is always the same fix. */
#define REBUILD_HINT L"the embedded monitor image (build/hv.elf) is not a valid monitor: rebuild it and the loader with 'make'"

static BOOLEAN add_overflows(UINT64 a, UINT64 b, UINT64 *sum)
{
	return __builtin_add_overflow(a, b, sum);
}

/* Check the file header; on success *ehdr points into the file. */
static EFI_STATUS check_header(const UINT8 *file, UINTN size, const struct elf64_ehdr **out)
{
	static const UINT8 magic[ELF_MAG_LEN] = { ELF_MAG0, ELF_MAG1, ELF_MAG2, ELF_MAG3 };
	const struct elf64_ehdr *ehdr = (const struct elf64_ehdr *)file;
	UINT64 ph_bytes, ph_end;

	if (size < sizeof(*ehdr)) {
		log_error(L"hv.elf is %ld bytes, shorter than an ELF64 file header (%d bytes): %s", (UINT64)size,
			  (int)sizeof(*ehdr), REBUILD_HINT);
		return EFI_LOAD_ERROR;
	}
	if (CompareMem(ehdr->e_ident, magic, ELF_MAG_LEN) != 0) {
		log_error(L"hv.elf does not start with the ELF magic 7f 45 4c 46: %s", REBUILD_HINT);
		return EFI_LOAD_ERROR;
	}
	if (ehdr->e_ident[ELF_EI_CLASS] != ELF_CLASS64) {
		log_error(L"hv.elf has ELF class %d, not ELFCLASS64 (%d): the monitor must be a 64-bit ELF; %s",
			  ehdr->e_ident[ELF_EI_CLASS], ELF_CLASS64, REBUILD_HINT);
		return EFI_LOAD_ERROR;
	}
	if (ehdr->e_ident[ELF_EI_DATA] != ELF_DATA2LSB) {
		log_error(L"hv.elf has ELF data encoding %d, not little-endian (%d); %s", ehdr->e_ident[ELF_EI_DATA],
			  ELF_DATA2LSB, REBUILD_HINT);
		return EFI_LOAD_ERROR;
	}
	if (ehdr->e_machine != ELF_EM_X86_64) {
		log_error(L"hv.elf is for ELF machine %d, not x86-64 (EM_X86_64 = %d); %s", ehdr->e_machine,
			  ELF_EM_X86_64, REBUILD_HINT);
		return EFI_LOAD_ERROR;
	}
	if (ehdr->e_type != ELF_ET_DYN) {
		log_error(L"hv.elf has ELF type %d, not a position-independent executable (ET_DYN = %d): link it "
			  L"-pie with linker.ld; %s",
			  ehdr->e_type, ELF_ET_DYN, REBUILD_HINT);
		return EFI_LOAD_ERROR;
	}
	if (ehdr->e_phentsize != sizeof(struct elf64_phdr)) {
		log_error(L"hv.elf program headers are %d bytes each, not %d; %s", ehdr->e_phentsize,
			  (int)sizeof(struct elf64_phdr), REBUILD_HINT);
		return EFI_LOAD_ERROR;
	}
	ph_bytes = (UINT64)ehdr->e_phnum * sizeof(struct elf64_phdr);
	if (ehdr->e_phnum == 0 || add_overflows(ehdr->e_phoff, ph_bytes, &ph_end) || ph_end > size) {
		log_error(L"hv.elf program header table (offset 0x%lx, %d entries) lies outside the %ld-byte file; %s",
			  ehdr->e_phoff, ehdr->e_phnum, (UINT64)size, REBUILD_HINT);
		return EFI_LOAD_ERROR;
	}
	if (ehdr->e_phoff % sizeof(UINT64) != 0) {
		log_error(L"hv.elf program header table is at offset 0x%lx, not 8-byte aligned; %s", ehdr->e_phoff,
			  REBUILD_HINT);
		return EFI_LOAD_ERROR;
	}
	*out = ehdr;
	return EFI_SUCCESS;
}

/*
 * Check every PT_LOAD segment, the entry point and the program headers a
 * self-relocating image may (PT_DYNAMIC, once) and may not (PT_INTERP) have.
 * Fills out->link_start/link_end/link_entry (link addresses) and *dynamic.
 */
static EFI_STATUS check_segments(const UINT8 *file, UINTN size, const struct elf64_ehdr *ehdr, struct monitor_image *out,
				 const struct elf64_phdr **dynamic)
{
	const struct elf64_phdr *ph = (const struct elf64_phdr *)(file + ehdr->e_phoff);
	UINT64 prev_end = 0;
	BOOLEAN any = FALSE, entry_ok = FALSE;

	*dynamic = NULL;
	for (UINTN i = 0; i < ehdr->e_phnum; i++) {
		UINT64 file_end, mem_end;

		if (ph[i].p_type == ELF_PT_INTERP) {
			log_error(L"hv.elf segment %d is PT_INTERP: the monitor asks for a program interpreter, which "
				  L"nothing provides; link it with --no-dynamic-linker (Makefile); %s",
				  (int)i, REBUILD_HINT);
			return EFI_LOAD_ERROR;
		}
		if (ph[i].p_type == ELF_PT_DYNAMIC) {
			if (*dynamic != NULL) {
				log_error(L"hv.elf has more than one PT_DYNAMIC segment; %s", REBUILD_HINT);
				return EFI_LOAD_ERROR;
			}
			*dynamic = &ph[i];
			continue;
		}
		if (ph[i].p_type != ELF_PT_LOAD || ph[i].p_memsz == 0)
			continue;
		if (ph[i].p_filesz > ph[i].p_memsz) {
			log_error(L"hv.elf segment %d has p_filesz 0x%lx > p_memsz 0x%lx; %s", (int)i, ph[i].p_filesz,
				  ph[i].p_memsz, REBUILD_HINT);
			return EFI_LOAD_ERROR;
		}
		if (add_overflows(ph[i].p_offset, ph[i].p_filesz, &file_end) || file_end > size) {
			log_error(L"hv.elf segment %d data [0x%lx, +0x%lx) lies outside the %ld-byte file; %s", (int)i,
				  ph[i].p_offset, ph[i].p_filesz, (UINT64)size, REBUILD_HINT);
			return EFI_LOAD_ERROR;
		}
		if (ph[i].p_vaddr != ph[i].p_paddr) {
			log_error(L"hv.elf segment %d has p_vaddr 0x%lx != p_paddr 0x%lx: the monitor runs on an identity "
				  L"map, so linker.ld must give each segment the same virtual and physical address",
				  (int)i, ph[i].p_vaddr, ph[i].p_paddr);
			return EFI_LOAD_ERROR;
		}
		if (ph[i].p_align > EFI_PAGE_SIZE) {
			log_error(L"hv.elf segment %d wants p_align 0x%lx, more than the 4 KiB pages the loader places "
				  L"the image in: link it with -z max-page-size=4096 (Makefile); %s",
				  (int)i, ph[i].p_align, REBUILD_HINT);
			return EFI_LOAD_ERROR;
		}
		if (add_overflows(ph[i].p_vaddr, ph[i].p_memsz, &mem_end) || mem_end > MONITOR_MAX_ADDRESS) {
			log_error(L"hv.elf segment %d [0x%lx, +0x%lx) does not fit below 4 GiB; %s", (int)i,
				  ph[i].p_vaddr, ph[i].p_memsz, REBUILD_HINT);
			return EFI_LOAD_ERROR;
		}
		if (any && ph[i].p_vaddr < prev_end) {
			log_error(L"hv.elf segment %d at 0x%lx overlaps or precedes the previous segment (ending at "
				  L"0x%lx): PT_LOAD segments must be in ascending address order; %s",
				  (int)i, ph[i].p_vaddr, prev_end, REBUILD_HINT);
			return EFI_LOAD_ERROR;
		}
		if (!any)
			out->link_start = ph[i].p_vaddr;
		out->link_end = mem_end;
		prev_end = mem_end;
		any = TRUE;
		if ((ph[i].p_flags & ELF_PF_X) && ehdr->e_entry >= ph[i].p_vaddr && ehdr->e_entry < mem_end)
			entry_ok = TRUE;
	}
	if (!any) {
		log_error(L"hv.elf has no PT_LOAD segment with contents; %s", REBUILD_HINT);
		return EFI_LOAD_ERROR;
	}
	if (out->link_start % EFI_PAGE_SIZE != 0) {
		log_error(L"hv.elf starts at 0x%lx, not at a 4 KiB page boundary (linker.ld links it at 0); %s",
			  out->link_start, REBUILD_HINT);
		return EFI_LOAD_ERROR;
	}
	if (!entry_ok) {
		log_error(L"hv.elf entry point 0x%lx is not inside an executable PT_LOAD segment: linker.ld must say "
			  L"ENTRY(hv_efi_entry); %s",
			  ehdr->e_entry, REBUILD_HINT);
		return EFI_LOAD_ERROR;
	}
	if (*dynamic == NULL) {
		log_error(L"hv.elf has no PT_DYNAMIC segment, so no relocation table: link it -pie with linker.ld; %s",
			  REBUILD_HINT);
		return EFI_LOAD_ERROR;
	}
	out->link_entry = ehdr->e_entry;
	return EFI_SUCCESS;
}

/* Whether [addr, addr + len) lies inside the image's link range; *offset is then addr's offset in it. */
static BOOLEAN in_image(const struct monitor_image *m, UINT64 addr, UINT64 len, UINT64 *offset)
{
	UINT64 end;

	if (addr < m->link_start || add_overflows(addr, len, &end) || end > m->link_end)
		return FALSE;
	*offset = addr - m->link_start;
	return TRUE;
}

/*
 * Read the dynamic section (gABI "Dynamic Section") of the image as loaded at
 * `image` and check its relocation table: RELA entries only, each one
 * R_X86_64_RELATIVE inside the image (elf_rela_check).  *count = the entries.
 */
static EFI_STATUS check_relocations(const UINT8 *image, const struct monitor_image *m, const struct elf64_phdr *dynamic,
				    UINT64 *count)
{
	const struct elf64_dyn *dyn;
	UINT64 dyn_offset, rela = 0, relasz = 0, relaent = 0, rela_offset;
	BOOLEAN have_rela = FALSE;
	struct elf_rela_error err;

	if (dynamic->p_filesz < ELF64_DYN_SIZE || !in_image(m, dynamic->p_vaddr, dynamic->p_filesz, &dyn_offset) ||
	    dyn_offset % sizeof(UINT64) != 0) {
		log_error(L"hv.elf PT_DYNAMIC [0x%lx, +0x%lx) is empty, misaligned or outside the loaded image; %s",
			  dynamic->p_vaddr, dynamic->p_filesz, REBUILD_HINT);
		return EFI_LOAD_ERROR;
	}
	dyn = (const struct elf64_dyn *)(image + dyn_offset);
	for (UINT64 i = 0; i < dynamic->p_filesz / ELF64_DYN_SIZE && dyn[i].d_tag != ELF_DT_NULL; i++) {
		switch (dyn[i].d_tag) {
		case ELF_DT_RELA: rela = dyn[i].d_val; have_rela = TRUE; break;
		case ELF_DT_RELASZ: relasz = dyn[i].d_val; break;
		case ELF_DT_RELAENT: relaent = dyn[i].d_val; break;
		case ELF_DT_NEEDED:
		case ELF_DT_REL:
		case ELF_DT_RELSZ:
		case ELF_DT_TEXTREL:
		case ELF_DT_JMPREL:
		case ELF_DT_PLTRELSZ:
			log_error(L"hv.elf dynamic section has tag %ld (DT_NEEDED 1, DT_REL 17, DT_TEXTREL 22, DT_JMPREL "
				  L"23, ...): the monitor applies RELA relocations only and links no shared library; %s",
				  dyn[i].d_tag, REBUILD_HINT);
			return EFI_LOAD_ERROR;
		default:
			break; /* DT_SYMTAB, DT_STRTAB, DT_GNU_HASH, DT_FLAGS ...: not used */
		}
	}
	*count = 0;
	if (!have_rela)
		return EFI_SUCCESS; /* nothing to relocate: an image without a single stored address */
	if (relaent != ELF64_RELA_SIZE || relasz % ELF64_RELA_SIZE != 0 || !in_image(m, rela, relasz, &rela_offset) ||
	    rela_offset % sizeof(UINT64) != 0) {
		log_error(L"hv.elf relocation table DT_RELA 0x%lx, DT_RELASZ 0x%lx, DT_RELAENT %ld is not a whole, "
			  L"aligned array of %d-byte entries inside the image; %s",
			  rela, relasz, relaent, (int)ELF64_RELA_SIZE, REBUILD_HINT);
		return EFI_LOAD_ERROR;
	}
	*count = relasz / ELF64_RELA_SIZE;
	if (elf_rela_check(m->link_start, m->link_end - m->link_start, (const struct elf64_rela *)(image + rela_offset),
			   *count, &err) != 0) {
		log_error(L"hv.elf relocation %ld (type %d, r_offset 0x%lx) is refused: %a; %s", err.index, err.type,
			  err.offset, elf_rela_status_text(err.status), REBUILD_HINT);
		return EFI_LOAD_ERROR;
	}
	return EFI_SUCCESS;
}

EFI_STATUS monitor_load(const UINT8 *file, UINTN size, struct monitor_image *out)
{
	const struct elf64_ehdr *ehdr;
	const struct elf64_phdr *ph, *dynamic;
	EFI_PHYSICAL_ADDRESS base = MONITOR_MAX_ADDRESS;
	UINT64 pages, relocations;
	UINT8 *image;
	EFI_STATUS status;

	if ((UINTN)file % sizeof(UINT64) != 0) {
		log_error(L"the embedded monitor image is not 8-byte aligned (boot/efi/images.S must align it)");
		return EFI_LOAD_ERROR;
	}
	status = check_header(file, size, &ehdr);
	if (EFI_ERROR(status))
		return status;
	status = check_segments(file, size, ehdr, out, &dynamic);
	if (EFI_ERROR(status))
		return status;

	pages = BYTES_TO_PAGES(out->link_end - out->link_start);
	status = pages_allocate(AllocateMaxAddress, EfiLoaderCode, pages, &base);
	if (EFI_ERROR(status)) {
		log_error(L"cannot allocate %ld pages (%ld KiB) below 4 GiB for the monitor: AllocatePages returned %r; "
			  L"the firmware has no free range that large below 4 GiB (the monitor's boot page tables map "
			  L"only that far): free memory there, or give the machine more",
			  pages, pages * EFI_PAGE_SIZE / 1024, status);
		return status;
	}
	image = (UINT8 *)(UINTN)base;
	ZeroMem(image, pages * EFI_PAGE_SIZE); /* the .bss and the gaps between segments */
	ph = (const struct elf64_phdr *)(file + ehdr->e_phoff);
	for (UINTN i = 0; i < ehdr->e_phnum; i++) {
		if (ph[i].p_type != ELF_PT_LOAD || ph[i].p_memsz == 0)
			continue;
		CopyMem(image + (ph[i].p_vaddr - out->link_start), (VOID *)(file + ph[i].p_offset), ph[i].p_filesz);
	}
	status = check_relocations(image, out, dynamic, &relocations);
	if (EFI_ERROR(status))
		return status;

	out->start = base;
	out->end = base + (out->link_end - out->link_start);
	out->entry = base + (out->link_entry - out->link_start);
	log_line(L"monitor: %ld R_X86_64_RELATIVE relocations checked; it applies them for 0x%lx itself",
		 relocations, out->start);
	return EFI_SUCCESS;
}
