/*
 * Every physical CPU in VMX root operation (vmm/smp.c): the bootstrap processor starts the others
 * one at a time through vmm/platform/ap_start.c; each checks its VT-x against the bootstrap
 * processor's and enters VMX root on its own stacks, tables and VMXON region, then waits for work.
 */
#ifndef VMM_SMP_H
#define VMM_SMP_H

#include "vmm/acpi.h"
#include "vmm/bootinfo.h"
#include "vmm/cmdline.h"
#include "vmm/pmm.h"
#include "vmm/vmx_caps.h"

/*
 * Start the processors of `cpus` other than this one, at most cfg->cpus in all (0: every one),
 * and report each by number: in VMX root, or left out and why.  Runs on the bootstrap processor
 * once it is in VMX root itself.  Returns how many CPUs are in VMX root, this one included.
 */
unsigned smp_start(const struct bootinfo *bi, const struct acpi_cpus *cpus, const struct hv_config *cfg,
		   const struct vmx_caps *caps, struct pmm *pmm);

#endif
