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
 * Check and load the guest ELF image from the boot module into guest RAM,
 * write the guest's Multiboot2 information (command line "mem=<mode> <guest.*
 * options>", basic memory info, memory map) and fill the start state.
 * Returns HV_OK, or HV_ERR_BAD_GUEST with the reason printed.
 */
int guest_boot_prepare(struct vcpu *v, const struct bootinfo *bi, struct vcpu_start *start);

#endif
