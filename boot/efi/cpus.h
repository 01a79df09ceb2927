/*
 * cpus.c: the processors the firmware lists (EFI_MP_SERVICES_PROTOCOL), into the bootinfo.
 */
#ifndef HV_EFI_CPUS_H
#define HV_EFI_CPUS_H

#include <vmm/bootinfo.h>

/*
 * Fill bi->cpu_count, cpu_bsp_apic_id, cpu_apic_id[] and cpu_total from the firmware's
 * EFI_MP_SERVICES_PROTOCOL (boot services only) and log one line about it.  When the protocol
 * is missing or gives no usable answer the four fields stay 0 (the monitor then relies on ACPI);
 * this never fails the boot.
 */
void find_cpus(struct bootinfo *bi);

#endif
