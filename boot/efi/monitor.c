/*
 * The monitor's image: an ELF64 x86-64 executable (System V gABI, x86-64
 * psABI), identity-linked (p_vaddr == p_paddr).  Each PT_LOAD segment is
 * placed at its physical address in pages claimed with
 * AllocatePages(AllocateAddress, EfiLoaderCode), so the firmware's memory map
 * (and so the monitor's bootinfo) shows them as loader memory.
 */
#include "loader.h"

#include <vmm/elf.h>

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
	if (ehdr->e_type != ELF_ET_EXEC) {
		log_error(L"hv.elf has ELF type %d, not an executable (ET_EXEC = %d): link it with linker.ld, "
			  L"without -pie; %s",
			  ehdr->e_type, ELF_ET_EXEC, REBUILD_HINT);
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

/* Check every PT_LOAD segment and the entry point; fill out->start/end/entry. */
static EFI_STATUS check_segments(const UINT8 *file, UINTN size, const struct elf64_ehdr *ehdr, struct monitor_image *out)
{
	const struct elf64_phdr *ph = (const struct elf64_phdr *)(file + ehdr->e_phoff);
	UINT64 prev_end = 0;
	BOOLEAN any = FALSE, entry_ok = FALSE;

	for (UINTN i = 0; i < ehdr->e_phnum; i++) {
		UINT64 file_end, mem_end;

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
			log_error(L"hv.elf segment %d has p_vaddr 0x%lx != p_paddr 0x%lx: the loader jumps to the "
				  L"monitor on UEFI's identity map, so linker.ld must link it at its physical address",
				  (int)i, ph[i].p_vaddr, ph[i].p_paddr);
			return EFI_LOAD_ERROR;
		}
		if (add_overflows(ph[i].p_paddr, ph[i].p_memsz, &mem_end)) {
			log_error(L"hv.elf segment %d [0x%lx, +0x%lx) wraps around the address space; %s", (int)i,
				  ph[i].p_paddr, ph[i].p_memsz, REBUILD_HINT);
			return EFI_LOAD_ERROR;
		}
		if (any && ph[i].p_paddr < prev_end) {
			log_error(L"hv.elf segment %d at 0x%lx overlaps or precedes the previous segment (ending at "
				  L"0x%lx): PT_LOAD segments must be in ascending address order; %s",
				  (int)i, ph[i].p_paddr, prev_end, REBUILD_HINT);
			return EFI_LOAD_ERROR;
		}
		if (!any)
			out->start = ph[i].p_paddr;
		out->end = mem_end;
		prev_end = mem_end;
		any = TRUE;
		if ((ph[i].p_flags & ELF_PF_X) && ehdr->e_entry >= ph[i].p_vaddr && ehdr->e_entry < mem_end)
			entry_ok = TRUE;
	}
	if (!any) {
		log_error(L"hv.elf has no PT_LOAD segment with contents; %s", REBUILD_HINT);
		return EFI_LOAD_ERROR;
	}
	if (!entry_ok) {
		log_error(L"hv.elf entry point 0x%lx is not inside an executable PT_LOAD segment: linker.ld must say "
			  L"ENTRY(hv_efi_entry); %s",
			  ehdr->e_entry, REBUILD_HINT);
		return EFI_LOAD_ERROR;
	}
	out->entry = ehdr->e_entry;
	return EFI_SUCCESS;
}

/* Claim the pages of [first, end) that earlier segments have not claimed already. */
static EFI_STATUS claim(UINTN index, UINT64 first, UINT64 end, UINT64 *claimed_end)
{
	UINT64 base = first & ~PAGE_MASK;
	UINT64 limit = (end + PAGE_MASK) & ~PAGE_MASK;
	EFI_PHYSICAL_ADDRESS addr;
	EFI_STATUS status;

	if (base < *claimed_end)
		base = *claimed_end; /* the page shared with the previous segment is already ours */
	if (base >= limit)
		return EFI_SUCCESS;
	addr = base;
	status = pages_allocate(AllocateAddress, EfiLoaderCode, (limit - base) / EFI_PAGE_SIZE, &addr);
	if (EFI_ERROR(status)) {
		log_error(L"cannot claim [0x%lx-0x%lx) for monitor segment %d: AllocatePages(AllocateAddress) "
			  L"returned %r.",
			  base, limit, (int)index, status);
		log_error(L"The monitor's link address (HV_LOAD_ADDRESS in linker.ld) collides with firmware memory "
			  L"on this machine; what is there:");
		memmap_describe_users(base, limit);
		log_line(L"  fix: move HV_LOAD_ADDRESS in linker.ld into a range this machine's firmware lists as "
			 L"EfiConventionalMemory, then rebuild with 'make'");
		return status;
	}
	*claimed_end = limit;
	return EFI_SUCCESS;
}

EFI_STATUS monitor_load(const UINT8 *file, UINTN size, struct monitor_image *out)
{
	const struct elf64_ehdr *ehdr;
	const struct elf64_phdr *ph;
	UINT64 claimed_end = 0;
	EFI_STATUS status;

	if ((UINTN)file % sizeof(UINT64) != 0) {
		log_error(L"the embedded monitor image is not 8-byte aligned (boot/efi/images.S must align it)");
		return EFI_LOAD_ERROR;
	}
	status = check_header(file, size, &ehdr);
	if (EFI_ERROR(status))
		return status;
	status = check_segments(file, size, ehdr, out);
	if (EFI_ERROR(status))
		return status;

	ph = (const struct elf64_phdr *)(file + ehdr->e_phoff);
	for (UINTN i = 0; i < ehdr->e_phnum; i++) {
		if (ph[i].p_type != ELF_PT_LOAD || ph[i].p_memsz == 0)
			continue;
		status = claim(i, ph[i].p_paddr, ph[i].p_paddr + ph[i].p_memsz, &claimed_end);
		if (EFI_ERROR(status))
			return status;
		CopyMem((VOID *)(UINTN)ph[i].p_paddr, (VOID *)(file + ph[i].p_offset), ph[i].p_filesz);
		ZeroMem((VOID *)(UINTN)(ph[i].p_paddr + ph[i].p_filesz), ph[i].p_memsz - ph[i].p_filesz);
	}
	return EFI_SUCCESS;
}
