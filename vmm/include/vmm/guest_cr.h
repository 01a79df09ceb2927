/* The hardware values of the guest's CR0, CR4 and EFER (vmm/core/guest_cr.c). */
#ifndef VMM_GUEST_CR_H
#define VMM_GUEST_CR_H

#include <stdint.h>
#include "vmm/vcpu.h"

uint64_t cr0_hardware_value(const struct vcpu *v, uint64_t guest_cr0);
uint64_t cr4_hardware_value(const struct vcpu *v, uint64_t guest_cr4);
uint64_t efer_hardware_value(const struct vcpu *v);
/* Give the hardware the guest's EFER: the guest register, or the real MSR without EFER switching. */
void efer_apply(struct vcpu *v);

#endif
