/* The hardware values of the guest's CR0, CR4 and EFER (vmm/core/guest_cr.c). */
#ifndef VMM_GUEST_CR_H
#define VMM_GUEST_CR_H

#include <stdint.h>
#include <arch/cr.h>
#include "vmm/mmu_ops.h"
#include "vmm/vcpu.h"

static inline uint64_t cr0_hardware_value(const struct vcpu *v, uint64_t guest_cr0)
{
	const uint64_t fixed0 = (v->caps->raw.cr0_fixed0 & ~v->mmu->cr0_fixed0_ignored) | v->mmu->cr0_set;
	return (guest_cr0 | fixed0) & v->caps->raw.cr0_fixed1;
}

static inline uint64_t cr4_hardware_value(const struct vcpu *v, uint64_t guest_cr4)
{
	uint64_t hw = ((guest_cr4 | v->caps->raw.cr4_fixed0 | v->mmu->cr4_set) & ~v->mmu->cr4_clear);
	if (!(v->guest_cr0 & CR0_PG))
		hw &= ~v->mmu->cr4_clear_paging_off;
	return hw & v->caps->raw.cr4_fixed1;
}

/* The EFER the hardware runs the guest with (SDM 27.3.1.1: with CR0.PG=1, EFER.LMA must equal EFER.LME). */
static inline uint64_t efer_hardware_value(const struct vcpu *v)
{
	uint64_t efer = v->guest_efer;
	if (!(v->guest_cr0 & CR0_PG))
		efer &= ~v->mmu->efer_clear_paging_off;
	return efer;
}

/* Give the hardware the guest's EFER: the guest register, or the real MSR without EFER switching. */
void efer_apply(struct vcpu *v);

#endif
