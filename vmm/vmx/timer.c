/* The VMX-preemption timer (SDM Vol. 3C 25.5.1, 26.5.1): one timer for the watchdog and the vLAPIC timer. */
#include "vmm/cmdline.h"
#include "vmm/vlapic.h"
#include "vmcs.h"
#include "vmx_backend.h"


/*
 * Before each VM entry: one VMX-preemption timer serves two deadlines, the watchdog's and the vLAPIC
 * timer's, so it is armed for the earlier.  Why this timer and not the host's LAPIC timer: it counts
 * the guest's own time at a rate tied to the TSC (SDM 26.5.1, IA32_VMX_MISC[4:0]), it forces an exit
 * whatever the guest does (interrupts off, a spin without exits, HLT: it counts in the HLT state
 * too), and it needs no host interrupt controller, whose state the firmware owns and the monitor
 * does not program.  The guest's timer interrupt is then late by at most one timer tick plus the
 * exit and entry.
 */
void preemption_timer_program(struct vcpu *v, uint64_t now)
{
	if (!v->preemption_timer || v->cfg->brk == HV_BREAK_EXIT_STORM || v->cfg->brk == HV_BREAK_NO_HLT_EXITING)
		return; /* the break modes keep their own fixed reload */
	const unsigned rate = v->caps->preemption_timer_rate;
	uint64_t deadline = vlapic_next_deadline(&v->lapic);
	v->timer_is_watchdog = v->watchdog_cycles && v->watchdog_deadline <= deadline;
	if (v->timer_is_watchdog)
		deadline = v->watchdog_deadline;
	uint64_t value = PREEMPTION_TIMER_VALUE_MAX;
	if (deadline != VLAPIC_NO_DEADLINE) {
		/* Rounded up: the exit comes at the deadline, never before it; a far one re-arms after 2^32 ticks. */
		const uint64_t ticks = deadline > now ? (deadline - now + (1ull << rate) - 1) >> rate : 0;
		if (ticks < value)
			value = ticks;
	}
	vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, (uint32_t)value);
}

