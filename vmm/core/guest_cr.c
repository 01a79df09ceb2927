/*
 * What the hardware runs the guest with, from what the guest wrote: CR0, CR4 and EFER under the
 * VMX fixed bits and the memory mode (unrestricted guest with EPT; paging always on with shadow
 * paging).  Used by the CR and MSR exits and by the backend's initial guest state.
 */
#include <arch/cr.h>
#include <arch/msr.h>
#include "vmm/guest_cr.h"
#include "vmm/mmu_ops.h"

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
