/*
 * APIC virtualization in hardware (SDM Vol. 3C chapter 30), used while the guest's vLAPIC is in
 * x2APIC mode and software-enabled (apicv=1, the default): all of it (APICV_FULL) where the CPU
 * offers TPR shadow, "virtualize x2APIC mode", APIC-register virtualization and virtual-interrupt
 * delivery and memory is virtualized with EPT, else the TPR shadow alone (APICV_TPR_SHADOW) where
 * the CPU has it; apicv=0 keeps the software path (vmx_deliver_interrupt) on the same CPU.
 */
#ifndef VMM_APICV_H
#define VMM_APICV_H

#include <stdbool.h>
#include <stdint.h>

#include "vmm/vcpu.h"
struct vmx_caps;
struct hv_config;
struct pmm;

/* What apicv=1 gets on this CPU and memory mode (APICV_FULL needs EPT). */
enum apicv_level apicv_level_for(const struct hv_config *cfg, const struct vmx_caps *caps, uint32_t mem_mode);
/* The virtual-APIC page and the fixed fields (vmcs_setup); the controls start off (xAPIC mode). */
int apicv_setup(struct vcpu *v, struct pmm *pmm);
/* After a change of the vLAPIC's mode: on in x2APIC mode, off otherwise (controls, MSR bitmap). */
void apicv_update(struct vcpu *v);
/* Around each VM entry: the CPU's changes back into the vLAPIC; the vLAPIC into the page, RVI/SVI. */
static inline void apicv_after_exit(struct vcpu *v)
{
	if (v->apicv_active)
		v->lapic_page_stale = true; /* read back when needed (vcpu_lapic) */
}
/* busy: an event is being injected at this entry already (inject.c). */
void apicv_before_entry(struct vcpu *v, uint64_t now, bool busy);
/* inject.c: the vLAPIC's highest deliverable interrupt, injected or waited for (used by the TPR-shadow level). */
void vmx_deliver_interrupt(struct vcpu *v, bool busy);

#endif
