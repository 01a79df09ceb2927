/* The hypervisor proper: VMXON, VMCS, EPT, the guest's life. */
#ifndef VMM_VMM_H
#define VMM_VMM_H

#include "vmm/acpi.h"
#include "vmm/bootinfo.h"
#include "vmm/cmdline.h"
#include "vmm/io_ledger.h"
#include "vmm/memory_setup.h"
#include "vmm/pmm.h"
#include "vmm/start_state.h"
#include "vmm/vcpu.h"
#include "vmm/vmx_caps.h"
#include "vmm/vuart.h"

/* vCPUs of one VM: each on a physical CPU of its own. */
#define VM_MAX_VCPUS VCPU_MAX_PER_VM

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
	struct io_ledger io_ledger; /* the I/O ports the guest reached that no device claims (vmm/exit/io.c) */
	uint16_t next_vpid;         /* VPID allocator: the next free tag (SDM 29.1; 0 is the host's) */
	unsigned nr_vcpus;
	struct vcpu vcpus[VM_MAX_VCPUS];
	struct vcpu_group group;    /* the vCPUs as each sees the others (IPIs, the stop) */
	struct vcpu_start ap_start; /* what every AP's VMCS starts from (EPT pointer); its real-mode state comes from its SIPI */
	struct pmm *pmm;            /* where an AP's VMCS comes from, on its own CPU */
};

/*
 * An application processor's vCPU on its physical CPU (vmm/smp.c hands it over): wait for INIT and
 * STARTUP from the guest, run it, and park the CPU once the VM stops.
 */
__attribute__((noreturn)) void vmm_vcpu_thread(struct vcpu *v);

/*
 * Puts every CPU of `cpus` (cpus= permitting) in VMX root, runs the guest to its end; returns the
 * status to power off with.
 */
int vmm_run(const struct bootinfo *bi, const struct acpi_cpus *cpus, const struct hv_config *cfg,
	    const struct vmx_caps *caps, struct pmm *pmm);

#endif
