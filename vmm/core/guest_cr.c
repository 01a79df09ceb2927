/*
 * What the hardware runs the guest with, from what the guest wrote: CR0, CR4 and EFER under the
 * VMX fixed bits and the memory mode (unrestricted guest with EPT; paging always on with shadow
 * paging).  Used by the CR and MSR exits and by the backend's initial guest state.
 */
#include <arch/cr.h>
#include <arch/msr.h>
#include "vmm/guest_cr.h"

uint64_t cr0_hardware_value(const struct vcpu *v, uint64_t guest_cr0)
{
	uint64_t fixed0 = v->caps->raw.cr0_fixed0;
	if (v->mem_mode == HV_MEM_EPT)
		fixed0 &= ~(CR0_PE | CR0_PG); /* unrestricted guest: SDM 27.3.1.1 */
	else
		fixed0 |= CR0_WP; /* shadow tables rely on write protection in supervisor mode too */
	return (guest_cr0 | fixed0) & v->caps->raw.cr0_fixed1;
}

uint64_t cr4_hardware_value(const struct vcpu *v, uint64_t guest_cr4)
{
	uint64_t hw = guest_cr4 | v->caps->raw.cr4_fixed0;
	if (v->mem_mode == HV_MEM_SHADOW) {
		hw = (hw | CR4_PAE) & ~CR4_PCIDE; /* shadow tables are 4-level PAE tables, untagged */
		/*
		 * With its paging off the guest runs on the monitor's identity tables, whose pages are all
		 * user pages: SMEP/SMAP there would fault its every access.  They apply from CR0.PG on.
		 */
		if (!(v->guest_cr0 & CR0_PG))
			hw &= ~(CR4_SMEP | CR4_SMAP);
	}
	return hw & v->caps->raw.cr4_fixed1;
}

/*
 * The EFER the hardware runs the guest with.  With shadow paging the CPU's
 * paging is always on, so LME/LMA may only appear once the guest's own CR0.PG
 * is set (SDM 27.3.1.1: with CR0.PG=1, EFER.LMA must equal EFER.LME).
 */
uint64_t efer_hardware_value(const struct vcpu *v)
{
	uint64_t efer = v->guest_efer;
	if (v->mem_mode == HV_MEM_SHADOW && !(v->guest_cr0 & CR0_PG))
		efer &= ~(EFER_LME | EFER_LMA);
	return efer;
}

void efer_apply(struct vcpu *v)
{
	const uint64_t hw = efer_hardware_value(v);
	if (v->efer_switched) {
		vcpu_write(v, VCPU_IA32_EFER, hw);
	} else {
		/* LME/LMA follow the "IA-32e mode guest" control at entry (SDM 27.3.2.1); SCE/NXE are shared. */
		uint64_t real = rdmsr(MSR_IA32_EFER);
		wrmsr(MSR_IA32_EFER, (real & ~(EFER_SCE | EFER_NXE)) | (hw & (EFER_SCE | EFER_NXE)));
	}
}
