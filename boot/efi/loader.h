/*
 * hv-efi-loader: a UEFI application (gnu-efi) that loads the monitor
 * (build/hv.elf) and the guest kernel (build/guest.elf), both embedded in the
 * application, fills the monitor's struct bootinfo, leaves the boot services
 * and jumps to the monitor's 64-bit entry.
 *
 * Calling conventions: this file is compiled with GNU_EFI_USE_MS_ABI, so the
 * firmware's function pointers (EFIAPI) are called directly; our own functions
 * use the System V ABI, as does the monitor's entry point.
 */
#ifndef HV_EFI_LOADER_H
#define HV_EFI_LOADER_H

#include <efi.h>
#include <efilib.h>

#include <vmm/bootinfo.h>

#define LOADER_NAME "hv-efi-loader"

/* The images that boot/efi/images.S embeds (start inclusive, end exclusive). */
extern const UINT8 hv_monitor_image_start[], hv_monitor_image_end[];
extern const UINT8 hv_guest_image_start[], hv_guest_image_end[];

/* ---- serial.c: raw 16550 UART at COM1, usable before and after ExitBootServices ---- */
void com1_init(void);
void com1_write(const char *s);
void com1_write_dec(UINT64 value);
void com1_write_hex(UINT64 value);

/* ---- log.c: "[efi] ..." lines on ConOut and COM1 (boot services only) ---- */

/*
 * Decide where log lines go.  When the firmware already mirrors its console to
 * COM1 (the ConOut variable names a UART at the PC's first serial port, as
 * OVMF's does) the raw COM1 copy is skipped, so each line appears once on the
 * serial port; otherwise COM1 is initialised (115200 8N1) and written directly.
 */
void log_init(void);
/* One line, "[efi] " + format (gnu-efi Print syntax: %a ASCII string, %s UTF-16 string, %lx ...) + newline. */
void log_line(const CHAR16 *fmt, ...);
/* As log_line, tagged "ERROR:". */
void log_error(const CHAR16 *fmt, ...);

/* ---- pages.c: page allocations, remembered so a failed load can give them back ---- */
EFI_STATUS pages_allocate(EFI_ALLOCATE_TYPE how, EFI_MEMORY_TYPE type, UINTN pages, EFI_PHYSICAL_ADDRESS *addr);
/* Give back every page allocation made so far (on a failure before ExitBootServices). */
void pages_release_all(void);

#define BYTES_TO_PAGES(bytes) (((bytes) + EFI_PAGE_SIZE - 1) / EFI_PAGE_SIZE)

/* ---- memmap.c: the UEFI memory map ---- */

/* The UEFI spec's name of a memory type ("EfiBootServicesData"). */
const CHAR16 *efi_memory_type_name(UINT32 type);
/* The bootinfo type a UEFI memory type becomes (enum bootinfo_mem_type). */
UINT32 bootinfo_type_of(UINT32 efi_type);

/* Whether GetMemoryMap's DescriptorSize is usable: at least one descriptor, a multiple of 8. */
BOOLEAN memmap_desc_size_ok(UINTN desc_size);

/*
 * Translate a UEFI memory map (map_size bytes of descriptors, desc_size bytes
 * apart) into bi->mem / bi->mem_count, merging address-adjacent ranges of the
 * same bootinfo type.  Allocates nothing and prints nothing (it runs between
 * the final GetMemoryMap and ExitBootServices).  Returns FALSE when the map
 * needs more than BOOTINFO_MAX_MEM_RANGES ranges (*needed says how many).
 */
BOOLEAN memmap_to_bootinfo(const UINT8 *map, UINTN map_size, UINTN desc_size, struct bootinfo *bi, UINTN *needed);

/* Print which UEFI memory ranges overlap [base, end), for a failed AllocateAddress. */
void memmap_describe_users(EFI_PHYSICAL_ADDRESS base, EFI_PHYSICAL_ADDRESS end);

/* ---- monitor.c: the monitor's ELF image ---- */
struct monitor_image {
	UINT64 entry;         /* run-time (identity-mapped) address of hv_efi_entry */
	UINT64 start, end;    /* where the image lies: [start, end) */
	UINT64 link_entry;    /* e_entry */
	UINT64 link_start, link_end; /* [lowest p_vaddr, highest p_vaddr + p_memsz) of the PT_LOAD segments */
};

/*
 * Check the position-independent ELF64 image, including its relocations, and
 * load its PT_LOAD segments into pages allocated anywhere below 4 GiB.
 */
EFI_STATUS monitor_load(const UINT8 *file, UINTN size, struct monitor_image *out);

/* ---- checks.c: before leaving the firmware ---- */

/*
 * CPUID.1:ECX.VMX and IA32_FEATURE_CONTROL, decided as the monitor decides
 * (vmm/platform/vmx_support.c).  Prints the verdict; TRUE when the monitor will stop
 * for it (no VT-x, or VT-x disabled in the firmware setup).
 */
BOOLEAN check_vmx(void);
/* Print whether Secure Boot is on (the SecureBoot variable), and what that means here. */
void check_secure_boot(void);

/* ---- cmdline.c: the monitor's command line ---- */

/*
 * Find the command line: the shell's arguments or the boot option's
 * LoadOptions (when they are printable text), else the file
 * \EFI\BOOT\CMDLINE.TXT next to the loader, else empty.  Writes it, trimmed,
 * NUL-terminated ASCII, into out[BOOTINFO_CMDLINE_MAX] and says where it came
 * from in *source.  *length is the whole line's length: when it is over
 * BOOTINFO_CMDLINE_LEN_MAX, out is empty, the problem is printed, and the
 * monitor refuses the line (status 65) rather than run it cut.  Other errors
 * (not ASCII, unreadable file) are printed and returned.
 */
EFI_STATUS cmdline_get(EFI_HANDLE image, EFI_LOADED_IMAGE *loaded, char *out, UINT32 *length,
		       const CHAR16 **source);

/* ---- reserve.c: test hook efi.reserve=START-END ---- */

/*
 * Handle and remove the efi.reserve=START-END words of the command line (in
 * place): take each range's free pages from the firmware as
 * EfiReservedMemoryType, so the monitor must be loaded elsewhere.  A
 * malformed word is printed and refused (EFI_INVALID_PARAMETER).
 */
EFI_STATUS reserve_from_cmdline(char *cmdline);

#endif
