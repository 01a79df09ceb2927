/* Loading the guest kernel and preparing its Multiboot2-style start. */
#ifndef VMM_GUEST_BOOT_H
#define VMM_GUEST_BOOT_H

#include "vmm/bootinfo.h"
#include "vmm/vcpu.h"
#include "vmm/start_state.h"

/* Guest-physical page holding the guest's Multiboot2 information (below the image at 1 MiB). */
#define GUEST_BOOT_INFO_GPA 0x8000ull
#define GUEST_BOOT_INFO_SIZE 0x1000ull
/*
 * The guest's ACPI tables (vmm/acpi_tables.h): the RSDP 16-byte aligned at 0xE0000, where a PC's BIOS
 * puts it (an OS that scans 0xE0000-0xFFFFF for it finds it, as does one that reads the Multiboot2
 * "ACPI new RSDP" tag), the XSDT and the MADT after it, all in the range the guest's memory map marks
 * reserved ([0x9f000, 0x100000)).  GUEST_ACPI_SIZE bounds them: room for 255 Processor Local APIC
 * structures and over a hundred x2APIC ones.
 */
#define GUEST_ACPI_GPA 0xe0000ull
#define GUEST_ACPI_SIZE 0x1000ull
/*
 * Shadow paging with several vCPUs: the 32-bit TSS an application processor's real-mode start runs
 * on in virtual-8086 mode (vmm/start_state.h), with an I/O permission bitmap that allows every port
 * (the monitor's I/O exits decide), in the same reserved range, right after the ACPI tables.
 */
#define GUEST_VM86_TSS_GPA (GUEST_ACPI_GPA + GUEST_ACPI_SIZE)

/*
 * Check and load the guest ELF image from the boot module into guest RAM, write the guest's ACPI
 * tables for `nr_vcpus` vCPUs (APIC IDs and ACPI processor UIDs 0..nr_vcpus-1) and its Multiboot2
 * information (command line "mem=<mode> <guest.* options>", basic memory info, memory map, ACPI new
 * RSDP) and fill the start state.  Returns HV_OK, or HV_ERR_BAD_GUEST with the reason printed
 * (HV_ERR_GENERIC when guest RAM or the table space cannot take what is written).
 */
int guest_boot_prepare(struct vcpu *v, const struct bootinfo *bi, struct vcpu_start *start, unsigned nr_vcpus);

#endif
