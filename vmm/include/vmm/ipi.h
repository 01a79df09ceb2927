/*
 * Between the vCPUs of one VM, each pinned to a physical CPU of its own (vmm/core/ipi.c): the IPIs
 * a guest sends through its local APIC's ICR, the "kick" that makes another physical CPU look at
 * what was posted for its vCPU, and the stop that ends every vCPU with one report.
 */
#ifndef VMM_IPI_H
#define VMM_IPI_H

#include "vmm/vcpu.h"

/* A vCPU's run ended because another vCPU stopped the VM (its status is the group's stop_status). */
#define EXIT_VM_STOPPED (-3)

/*
 * Deliver the IPI the guest just wrote to v's ICR (if any) to the other vCPUs it names: fixed and
 * lowest-priority interrupts and NMIs are posted to their vLAPICs, INIT and STARTUP to the vCPUs
 * (SDM Vol. 3A 9.4.4, 11.6.1), and each target's physical CPU is kicked.  An IPI that reaches no
 * vCPU is dropped, as a real bus drops one to an absent APIC, and logged (the first few).
 */
void vcpu_route_ipi(struct vcpu *v);

/*
 * Make t's physical CPU look at t's posted work (an external-interrupt exit, or a wake-up), from
 * the physical CPU that runs `from`; nothing when both are pinned to the same one.
 */
void vcpu_kick(const struct vcpu *from, struct vcpu *t);

/*
 * End the VM with `status`, from any vCPU: the first caller's status wins; every other vCPU is
 * kicked and parks at its next exit.  Returns the status the VM ends with.
 */
int vcpu_group_stop(struct vcpu *v, int status);

static inline bool vcpu_group_stopping(const struct vcpu *v)
{
	return __atomic_load_n(&v->group->stopping, __ATOMIC_ACQUIRE);
}

#endif
