#include <string.h>
#include <arch/cpuid.h>
#include <arch/cr.h>
#include <arch/paging.h>
#include <arch/vmx.h>
#include <arch/vmx_controls.h>
#include "vmm/log.h"
#include "vmm/pcpu.h"
#include "vmm/paging.h"
#include "vmm/status.h"
#include "vmcs.h"
#include "vmx.h"

void vmx_report_failure(const char *instruction, int result)
{
	if (result == VMX_FAIL_INVALID) {
		log_error("%s failed with VMfailInvalid (no current VMCS or a bad pointer operand, SDM 31.2)",
			  instruction);
		return;
	}
	uint32_t err = (uint32_t)vmcs_read_any(VM_INSTRUCTION_ERROR);
	log_error("%s failed with VMfailValid: VM-instruction error %u, \"%s\" (SDM 31.4)", instruction, err,
		  vm_instruction_error_text(err));
}

int vmx_enable(const struct vmx_caps *caps, struct pmm *pmm)
{
	uint64_t cr0 = read_cr0(), cr4 = read_cr4(), region;
	uint32_t *rev;
	enum vmx_result r;

	/* SDM A.1: regions must be at most 4 KiB and the CPU must use write-back for them. */
	if (caps->region_size > PAGE_SIZE || VMX_BASIC_MEMTYPE(caps->raw.basic) != VMX_MEMTYPE_WB) {
		log_error("IA32_VMX_BASIC reports a %u-byte VMCS region with memory type %llu: this monitor "
			  "supports regions of at most 4096 bytes in write-back memory", caps->region_size,
			  (unsigned long long)VMX_BASIC_MEMTYPE(caps->raw.basic));
		return HV_ERR_VMX_FEATURE;
	}

	/* SDM 24.8 / A.7, A.8: bits set in FIXED0 must be 1, bits clear in FIXED1 must be 0. */
	cr0 = (cr0 | caps->raw.cr0_fixed0) & caps->raw.cr0_fixed1;
	cr4 = (cr4 | CR4_VMXE | caps->raw.cr4_fixed0) & caps->raw.cr4_fixed1;
	/* XSETBV emulation runs XSETBV in root mode, which needs CR4.OSXSAVE. */
	if (cpuid(CPUID_LEAF_FEATURES, 0).ecx & CPUID_1_ECX_XSAVE)
		cr4 |= CR4_OSXSAVE;
	write_cr0(cr0);
	write_cr4(cr4);
	const bool bsp = this_pcpu()->index == 0; /* an AP's VMXON is one line in vmm/smp.c */
	if (bsp)
		log_info("VMXON: CR0=%#llx CR4=%#llx after the VMX fixed bits (CR4.VMXE set)", (unsigned long long)cr0,
			 (unsigned long long)cr4);

	region = pmm_alloc(pmm, 1, PAGE_SIZE);
	if (region == PMM_NO_MEMORY) {
		log_error("no memory for the VMXON region");
		return HV_ERR_NO_MEMORY;
	}
	memset(phys_to_virt(region), 0, PAGE_SIZE);
	rev = phys_to_virt(region);
	*rev = caps->revision; /* SDM 25.11.5: revision identifier in the first 31 bits */
	r = vmxon(region);
	if (r != VMX_SUCCEED) {
		log_error("VMXON failed on CPU %u (%s) with the region at %#llx, revision %u: check that VT-x is "
			  "enabled and that no other hypervisor already runs in VMX root operation", this_pcpu()->index,
			  r == VMX_FAIL_INVALID ? "VMfailInvalid" : "VMfailValid", (unsigned long long)region,
			  caps->revision);
		return HV_ERR_VMX_INSTR;
	}
	this_pcpu()->vmxon_region = region;
	if (bsp)
		log_info("VMXON succeeded: VMXON region at %#llx, VMCS revision %u", (unsigned long long)region,
			 caps->revision);
	return HV_OK;
}
