/* The hypervisor proper: VMXON, VMCS, EPT, the guest's life. */
#ifndef VMM_VMM_H
#define VMM_VMM_H

#include "vmm/acpi.h"
#include "vmm/bootinfo.h"
#include "vmm/cmdline.h"
#include "vmm/memory_setup.h"
#include "vmm/pmm.h"
#include "vmm/vcpu.h"
#include "vmm/vmx_caps.h"
#include "vmm/vuart.h"

/* vCPUs of one VM (one until SMP guests, issue 11). */
#define VM_MAX_VCPUS 1

/*
 * A virtual machine: its memory (guest RAM and its second-level translation), its devices, its
 * vCPUs and the VPIDs they tag their translations with.  Allocated from the frame allocator
 * (vm_create), never a global.
 */
struct vm {
	const struct hv_config *cfg;
	const struct vmx_caps *caps;
	uint32_t mem_mode;          /* enum hv_mem_mode in use (shadow when the CPU has no EPT) */
	struct vmm_memory memory;
	struct vuart uart;          /* COM1 */
	uint16_t next_vpid;         /* VPID allocator: the next free tag (SDM 29.1; 0 is the host's) */
	unsigned nr_vcpus;
	struct vcpu vcpus[VM_MAX_VCPUS];
};

/*
 * Puts every CPU of `cpus` (cpus= permitting) in VMX root, runs the guest to its end; returns the
 * status to power off with.
 */
int vmm_run(const struct bootinfo *bi, const struct acpi_cpus *cpus, const struct hv_config *cfg,
	    const struct vmx_caps *caps, struct pmm *pmm);

#endif
