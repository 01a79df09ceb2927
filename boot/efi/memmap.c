/*
 * The UEFI memory map: translation into the monitor's bootinfo ranges, and
 * diagnostics for an address the loader could not claim.
 */
#include "loader.h"

/* UEFI 2.10 memory types after EfiPalCode (gnu-efi 3.0.15 stops there). */
#define EFI_PERSISTENT_MEMORY      14
#define EFI_UNACCEPTED_MEMORY_TYPE 15

/* Descriptors of slack when fetching a map for diagnostics (the fetch's own allocation adds some). */
#define MEMMAP_DIAG_SLACK_DESCRIPTORS 8

const CHAR16 *efi_memory_type_name(UINT32 type)
{
	static const CHAR16 *const names[] = {
		[EfiReservedMemoryType] = L"EfiReservedMemoryType",
		[EfiLoaderCode] = L"EfiLoaderCode",
		[EfiLoaderData] = L"EfiLoaderData",
		[EfiBootServicesCode] = L"EfiBootServicesCode",
		[EfiBootServicesData] = L"EfiBootServicesData",
		[EfiRuntimeServicesCode] = L"EfiRuntimeServicesCode",
		[EfiRuntimeServicesData] = L"EfiRuntimeServicesData",
		[EfiConventionalMemory] = L"EfiConventionalMemory",
		[EfiUnusableMemory] = L"EfiUnusableMemory",
		[EfiACPIReclaimMemory] = L"EfiACPIReclaimMemory",
		[EfiACPIMemoryNVS] = L"EfiACPIMemoryNVS",
		[EfiMemoryMappedIO] = L"EfiMemoryMappedIO",
		[EfiMemoryMappedIOPortSpace] = L"EfiMemoryMappedIOPortSpace",
		[EfiPalCode] = L"EfiPalCode",
		[EFI_PERSISTENT_MEMORY] = L"EfiPersistentMemory",
		[EFI_UNACCEPTED_MEMORY_TYPE] = L"EfiUnacceptedMemoryType",
	};
	if (type < sizeof(names) / sizeof(names[0]) && names[type] != NULL)
		return names[type];
	return L"an OEM/OS-defined memory type";
}

UINT32 bootinfo_type_of(UINT32 efi_type)
{
	switch (efi_type) {
	case EfiConventionalMemory:
	case EfiBootServicesCode:
	case EfiBootServicesData:
		return BI_MEM_USABLE;
	case EfiLoaderCode:
	case EfiLoaderData:
		return BI_MEM_LOADER; /* the loader, the bootinfo, the monitor and the guest copy */
	case EfiRuntimeServicesCode:
	case EfiRuntimeServicesData:
	case EfiPalCode:
		return BI_MEM_FIRMWARE;
	case EfiACPIReclaimMemory:
		return BI_MEM_ACPI_RECLAIM;
	case EfiACPIMemoryNVS:
		return BI_MEM_ACPI_NVS;
	case EfiUnusableMemory:
		return BI_MEM_BAD;
	case EfiMemoryMappedIO:
	case EfiMemoryMappedIOPortSpace:
		return BI_MEM_MMIO;
	default:
		return BI_MEM_RESERVED;
	}
}

BOOLEAN memmap_desc_size_ok(UINTN desc_size)
{
	/*
	 * UEFI 2.10 7.2 GetMemoryMap(): descriptors are DescriptorSize bytes apart, which may exceed
	 * sizeof(EFI_MEMORY_DESCRIPTOR) in later versions.  Less would cut descriptors short (and 0
	 * would never advance); a stride that is not a multiple of 8 would misalign the 64-bit fields.
	 */
	return desc_size >= sizeof(EFI_MEMORY_DESCRIPTOR) && desc_size % sizeof(UINT64) == 0;
}

BOOLEAN memmap_to_bootinfo(const UINT8 *map, UINTN map_size, UINTN desc_size, struct bootinfo *bi, UINTN *needed)
{
	UINTN count = 0;

	/* The caller checks desc_size first; without a usable one no descriptor can be read safely. */
	for (UINTN offset = 0; memmap_desc_size_ok(desc_size) && desc_size <= map_size - offset; offset += desc_size) {
		const EFI_MEMORY_DESCRIPTOR *d = (const EFI_MEMORY_DESCRIPTOR *)(map + offset);
		UINT64 length = d->NumberOfPages * EFI_PAGE_SIZE;
		UINT32 type = bootinfo_type_of(d->Type);

		/*
		 * Skip empty descriptors, and broken ones whose size overflows or whose end does not
		 * fit in 64 bits (the rule memmap_normalize applies to bootinfo ranges).
		 */
		if (d->NumberOfPages == 0 || d->NumberOfPages > (UINT64)-1 / EFI_PAGE_SIZE ||
		    length > (UINT64)-1 - d->PhysicalStart)
			continue;
		if (count > 0 && count <= BOOTINFO_MAX_MEM_RANGES) {
			struct bootinfo_mem_range *prev = &bi->mem[count - 1];
			if (prev->type == type && prev->base + prev->length == d->PhysicalStart) {
				prev->length += length;
				continue;
			}
		}
		if (count < BOOTINFO_MAX_MEM_RANGES) {
			bi->mem[count].base = d->PhysicalStart;
			bi->mem[count].length = length;
			bi->mem[count].type = type;
			bi->mem[count].reserved = 0;
		}
		count++;
	}
	*needed = count;
	bi->mem_count = (UINT32)(count < BOOTINFO_MAX_MEM_RANGES ? count : BOOTINFO_MAX_MEM_RANGES);
	return count <= BOOTINFO_MAX_MEM_RANGES;
}

void memmap_describe_users(EFI_PHYSICAL_ADDRESS base, EFI_PHYSICAL_ADDRESS end)
{
	UINTN map_size = 0, key, desc_size;
	UINT32 desc_version;
	UINT8 *map = NULL;
	EFI_STATUS status;
	BOOLEAN any = FALSE;

	status = BS->GetMemoryMap(&map_size, NULL, &key, &desc_size, &desc_version);
	if (status == EFI_BUFFER_TOO_SMALL) {
		map_size += MEMMAP_DIAG_SLACK_DESCRIPTORS * desc_size;
		map = AllocatePool(map_size);
		status = map != NULL ? BS->GetMemoryMap(&map_size, (EFI_MEMORY_DESCRIPTOR *)map, &key, &desc_size,
							&desc_version)
				     : EFI_OUT_OF_RESOURCES;
	}
	if (!EFI_ERROR(status) && !memmap_desc_size_ok(desc_size))
		status = EFI_DEVICE_ERROR;
	if (EFI_ERROR(status)) {
		log_error(L"(could not read the memory map to say what uses that range: %r)", status);
		if (map != NULL)
			FreePool(map);
		return;
	}
	for (UINTN offset = 0; offset + desc_size <= map_size; offset += desc_size) {
		const EFI_MEMORY_DESCRIPTOR *d = (const EFI_MEMORY_DESCRIPTOR *)(map + offset);
		EFI_PHYSICAL_ADDRESS d_end = d->PhysicalStart + d->NumberOfPages * EFI_PAGE_SIZE;
		if (d->PhysicalStart < end && base < d_end) {
			log_line(L"  firmware memory map: [0x%lx-0x%lx) is %s", d->PhysicalStart, d_end,
				 efi_memory_type_name(d->Type));
			any = TRUE;
		}
	}
	if (!any)
		log_line(L"  firmware memory map: no entry covers [0x%lx-0x%lx) (not RAM on this machine)", base, end);
	FreePool(map);
}
