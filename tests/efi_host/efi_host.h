/*
 * Host stand-ins for the few gnu-efi types and services that the loader's pure
 * parts (boot/efi/cmdline.c, boot/efi/memmap.c) use, so that the host tests and
 * fuzz harnesses can compile those files as they are:
 *
 *   #include "efi_host.h"
 *   #include "../../boot/efi/cmdline.c"
 *
 * efi_host.h defines the loader.h include guard, so <efi.h> stays out.  Names
 * and values follow the UEFI 2.10 specification (and gnu-efi's efidef.h).
 * Build with -fshort-wchar so that L"" strings are UTF-16 like CHAR16.
 */
#ifndef HV_EFI_HOST_H
#define HV_EFI_HOST_H

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include "vmm/bootinfo.h"

typedef uint64_t UINTN;
typedef uint8_t UINT8;
typedef uint16_t UINT16;
typedef uint32_t UINT32;
typedef uint64_t UINT64;
typedef uint16_t CHAR16; /* built with -fshort-wchar, so L"" strings are UTF-16 */
typedef uint8_t BOOLEAN;
typedef void VOID;
typedef void *EFI_HANDLE;
typedef UINTN EFI_STATUS;
typedef struct { uint32_t d1; uint16_t d2, d3; uint8_t d4[8]; } EFI_GUID;
#define TRUE  1
#define FALSE 0
#define EFI_ERROR_BIT          (1ull << 63)
#define EFI_SUCCESS            0ull
#define EFI_INVALID_PARAMETER  (EFI_ERROR_BIT | 2)
#define EFI_BAD_BUFFER_SIZE    (EFI_ERROR_BIT | 4)
#define EFI_DEVICE_ERROR       (EFI_ERROR_BIT | 7)
#define EFI_OUT_OF_RESOURCES   (EFI_ERROR_BIT | 9)
#define EFI_NOT_FOUND          (EFI_ERROR_BIT | 14)
#define EFI_UNSUPPORTED        (EFI_ERROR_BIT | 3)
#define EFI_ERROR(s)           (((s) & EFI_ERROR_BIT) != 0)
#define EFI_FILE_MODE_READ     1ull
#define EFI_SHELL_PARAMETERS_PROTOCOL_GUID { 0x752f3136, 0x4e16, 0x4fdc, { 0xa2, 0x2a, 0xe5, 0xf4, 0x68, 0x12, 0xf4, 0xca } }

typedef struct {
	CHAR16 **Argv;
	UINTN Argc;
} EFI_SHELL_PARAMETERS_PROTOCOL;

typedef struct {
	EFI_HANDLE DeviceHandle;
	VOID *LoadOptions;
	UINT32 LoadOptionsSize;
} EFI_LOADED_IMAGE;

typedef struct fake_file EFI_FILE, *EFI_FILE_HANDLE;
struct fake_file {
	EFI_STATUS (*Open)(EFI_FILE_HANDLE self, EFI_FILE_HANDLE *out, CHAR16 *path, UINT64 mode, UINT64 attr);
	EFI_STATUS (*Close)(EFI_FILE_HANDLE self);
	EFI_STATUS (*Read)(EFI_FILE_HANDLE self, UINTN *size, VOID *buf);
};
typedef struct fake_fs {
	EFI_STATUS (*OpenVolume)(struct fake_fs *self, EFI_FILE_HANDLE *root);
} EFI_FILE_IO_INTERFACE;

typedef uint64_t EFI_PHYSICAL_ADDRESS;
typedef uint64_t EFI_VIRTUAL_ADDRESS;
#define EFI_PAGE_SIZE        4096ull
#define EFI_BUFFER_TOO_SMALL (EFI_ERROR_BIT | 5)

/* UEFI 2.10 7.2 EFI_BOOT_SERVICES.GetMemoryMap(). */
typedef enum {
	EfiReservedMemoryType, EfiLoaderCode, EfiLoaderData, EfiBootServicesCode, EfiBootServicesData,
	EfiRuntimeServicesCode, EfiRuntimeServicesData, EfiConventionalMemory, EfiUnusableMemory,
	EfiACPIReclaimMemory, EfiACPIMemoryNVS, EfiMemoryMappedIO, EfiMemoryMappedIOPortSpace, EfiPalCode,
	EfiMaxMemoryType
} EFI_MEMORY_TYPE;

typedef struct {
	UINT32 Type;
	UINT32 Pad;
	EFI_PHYSICAL_ADDRESS PhysicalStart;
	EFI_VIRTUAL_ADDRESS VirtualStart;
	UINT64 NumberOfPages;
	UINT64 Attribute;
} EFI_MEMORY_DESCRIPTOR;

typedef struct {
	EFI_STATUS (*HandleProtocol)(EFI_HANDLE handle, EFI_GUID *guid, VOID **iface);
	EFI_STATUS (*GetMemoryMap)(UINTN *size, EFI_MEMORY_DESCRIPTOR *map, UINTN *key, UINTN *desc_size,
				   UINT32 *desc_version);
} EFI_BOOT_SERVICES;

static EFI_GUID FileSystemProtocol __attribute__((unused));
static EFI_BOOT_SERVICES host_bs;
static EFI_BOOT_SERVICES *BS __attribute__((unused)) = &host_bs; /* a test fills in the services it needs */

static inline VOID *AllocatePool(UINTN size) { return malloc(size); }
static inline VOID FreePool(VOID *p) { free(p); }
static inline void log_line(const CHAR16 *fmt, ...) { (void)fmt; }
static inline void log_error(const CHAR16 *fmt, ...) { (void)fmt; }

/* The loader.h declarations of the files compiled over these stand-ins. */
EFI_STATUS cmdline_get(EFI_HANDLE image, EFI_LOADED_IMAGE *loaded, char *out, UINT32 *length,
		       const CHAR16 **source);
const CHAR16 *efi_memory_type_name(UINT32 type);
UINT32 bootinfo_type_of(UINT32 efi_type);
BOOLEAN memmap_desc_size_ok(UINTN desc_size);
BOOLEAN memmap_to_bootinfo(const UINT8 *map, UINTN map_size, UINTN desc_size, struct bootinfo *bi, UINTN *needed);
void memmap_describe_users(EFI_PHYSICAL_ADDRESS base, EFI_PHYSICAL_ADDRESS end);

#define HV_EFI_LOADER_H /* loader.h's guard: keep <efi.h> out */

#endif

