/*
 * Page allocations through the boot services, remembered so that a load that
 * fails before ExitBootServices can give every page back to the firmware.
 */
#include "loader.h"

/* Monitor segments + guest copy + bootinfo, with room to spare. */
#define PAGES_RECORD_MAX 32

static struct {
	EFI_PHYSICAL_ADDRESS base;
	UINTN pages;
} records[PAGES_RECORD_MAX];
static UINTN record_count;

EFI_STATUS pages_allocate(EFI_ALLOCATE_TYPE how, EFI_MEMORY_TYPE type, UINTN pages, EFI_PHYSICAL_ADDRESS *addr)
{
	EFI_STATUS status;

	if (record_count == PAGES_RECORD_MAX) {
		log_error(L"more than %d page allocations: raise PAGES_RECORD_MAX in boot/efi/pages.c",
			  PAGES_RECORD_MAX);
		return EFI_OUT_OF_RESOURCES;
	}
	status = BS->AllocatePages(how, type, pages, addr);
	if (EFI_ERROR(status))
		return status;
	records[record_count].base = *addr;
	records[record_count].pages = pages;
	record_count++;
	return EFI_SUCCESS;
}

void pages_release_all(void)
{
	while (record_count > 0) {
		record_count--;
		BS->FreePages(records[record_count].base, records[record_count].pages);
	}
}
