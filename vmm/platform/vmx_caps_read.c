/* Reading the capability MSRs from the CPU; kept apart from the pure decoding in vmx_caps.c. */
#include <arch/msr.h>
#include <arch/vmx_controls.h>
#include "vmm/vmx_caps.h"

void vmx_caps_read(struct vmx_cap_msrs *raw)
{
	*raw = (struct vmx_cap_msrs){ 0 };
	raw->basic = rdmsr(MSR_IA32_VMX_BASIC);
	raw->misc = rdmsr(MSR_IA32_VMX_MISC);
	raw->pinbased = rdmsr(MSR_IA32_VMX_PINBASED_CTLS);
	raw->procbased = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS);
	raw->exit = rdmsr(MSR_IA32_VMX_EXIT_CTLS);
	raw->entry = rdmsr(MSR_IA32_VMX_ENTRY_CTLS);
	raw->cr0_fixed0 = rdmsr(MSR_IA32_VMX_CR0_FIXED0);
	raw->cr0_fixed1 = rdmsr(MSR_IA32_VMX_CR0_FIXED1);
	raw->cr4_fixed0 = rdmsr(MSR_IA32_VMX_CR4_FIXED0);
	raw->cr4_fixed1 = rdmsr(MSR_IA32_VMX_CR4_FIXED1);
	/* SDM A.1: the TRUE MSRs exist only when IA32_VMX_BASIC[55] is set. */
	if (raw->basic & VMX_BASIC_TRUE_CTLS) {
		raw->true_pinbased = rdmsr(MSR_IA32_VMX_TRUE_PINBASED_CTLS);
		raw->true_procbased = rdmsr(MSR_IA32_VMX_TRUE_PROCBASED_CTLS);
		raw->true_exit = rdmsr(MSR_IA32_VMX_TRUE_EXIT_CTLS);
		raw->true_entry = rdmsr(MSR_IA32_VMX_TRUE_ENTRY_CTLS);
	}
	/* SDM A.3.3: IA32_VMX_PROCBASED_CTLS2 exists only if secondary controls may be 1. */
	if ((raw->procbased >> 32) & CPU_ACTIVATE_SECONDARY_CONTROLS) {
		raw->has_procbased2 = true;
		raw->procbased2 = rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2);
		/* SDM A.10: IA32_VMX_EPT_VPID_CAP exists if EPT or VPID may be 1. */
		if ((raw->procbased2 >> 32) & (CPU2_ENABLE_EPT | CPU2_ENABLE_VPID)) {
			raw->has_ept_vpid_cap = true;
			raw->ept_vpid_cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
		}
		/* SDM A.11: IA32_VMX_VMFUNC exists if "enable VM functions" may be 1. */
		if ((raw->procbased2 >> 32) & CPU2_ENABLE_VM_FUNCTIONS) {
			raw->has_vmfunc = true;
			raw->vmfunc = rdmsr(MSR_IA32_VMX_VMFUNC);
		}
	}
}
