/*
 * Event injection (SDM Vol. 3C 27.6): the one place that writes the VM-entry interruption fields.
 * Just before each entry, at most one event, in the order of SDM Vol. 3A 6.9: the queued exception
 * (a handler's, or one whose delivery an exit interrupted), an NMI or external interrupt whose
 * delivery an exit interrupted, the vLAPIC's NMI, the vLAPIC's highest deliverable interrupt (or,
 * with virtual-interrupt delivery, the CPU's: apicv.c).  What cannot go in now asks for the
 * interrupt- or NMI-window exit that says when it can.
 */
#include <arch/cr.h>
#include <arch/debug.h>
#include <arch/segment.h>
#include <arch/vmx_controls.h>
#include <arch/vmx_state.h>
#include "vmm/vlapic.h"
#include "apicv.h"
#include "tlb.h"
#include "vmcs.h"
#include "vmx_backend.h"

static void set_window_exiting(struct vcpu *v, uint32_t control, bool on)
{
	const uint32_t want = on ? v->proc_controls | control : v->proc_controls & ~control;
	if (want == v->proc_controls)
		return;
	v->proc_controls = want;
	vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, want);
}

static inline __attribute__((always_inline)) void inject(struct vcpu *v, const struct event *e)
{
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, e->vector | ((uint32_t)e->type << INTR_INFO_TYPE_SHIFT) |
						       (e->has_error_code ? INTR_INFO_DELIVER_ERROR_CODE : 0) |
						       INTR_INFO_VALID);
	if (e->has_error_code)
		vmcs_write32(VM_ENTRY_EXCEPTION_ERROR_CODE, e->error_code);
	/* Software interrupts and exceptions push the address after their instruction (SDM 27.6.1.3). */
	if (e->type == EVENT_SOFT_INTERRUPT || e->type == EVENT_SOFT_EXCEPTION || e->type == EVENT_PRIV_SOFT_EXCEPTION)
		vmcs_write32(VM_ENTRY_INSTRUCTION_LEN, e->insn_len);
	/* A halted vCPU wakes to take it: delivery starts from the active state (SDM 27.6.1, 27.7.2). */
	if (VMX_REG_READ(v, ACTIVITY_STATE) == VCPU_ACTIVITY_HLT)
		vcpu_write(v, VCPU_ACTIVITY_STATE, VCPU_ACTIVITY_ACTIVE);
}

static inline __attribute__((always_inline)) bool interrupts_blocked(struct vcpu *v)
{
	return !(VMX_REG_READ(v, RFLAGS) & RFLAGS_IF) ||
	       (VMX_REG_READ(v, INTERRUPTIBILITY_INFO) & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
}

/*
 * The vLAPIC's NMI: NMIs wait for NMI blocking (until the handler's IRET) and MOV SS or STI blocking
 * (SDM 6.7.1, 25.4.2).  True when it injected one: the entry is then busy.
 */
static bool deliver_nmi(struct vcpu *v, bool busy)
{
	if (!v->lapic.nmi_pending) {
		set_window_exiting(v, CPU_NMI_WINDOW_EXITING, false);
		return false;
	}
	const bool blocked = VMX_REG_READ(v, INTERRUPTIBILITY_INFO) &
			     (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS | INTERRUPTIBILITY_NMI);
	if (busy || blocked) {
		/* SDM 26.7.6: an exit as soon as nothing blocks NMIs; it needs "virtual NMIs" (27.2.1.1). */
		set_window_exiting(v, CPU_NMI_WINDOW_EXITING, v->virtual_nmis);
		return false;
	}
	v->lapic.nmi_pending = false;
	const struct event nmi = { .valid = true, .type = EVENT_NMI, .vector = VECTOR_NMI };
	inject(v, &nmi);
	v->nmis_injected++;
	set_window_exiting(v, CPU_NMI_WINDOW_EXITING, false);
	return true;
}

/* The vLAPIC's highest deliverable interrupt, when RFLAGS.IF = 1 and no STI / MOV SS blocking (SDM 6.8.1). */
void vmx_deliver_interrupt(struct vcpu *v, bool busy)
{
	const int vector = vlapic_pending_vector(vcpu_lapic(v));
	if (vector == VLAPIC_NO_VECTOR) {
		set_window_exiting(v, CPU_INTERRUPT_WINDOW_EXITING, false);
		return;
	}
	/* Another event goes first; the window exit comes after it. */
	if (busy || interrupts_blocked(v)) {
		/* SDM 26.7.5: exits at the first instruction boundary where RFLAGS.IF = 1 and nothing blocks. */
		set_window_exiting(v, CPU_INTERRUPT_WINDOW_EXITING, true);
		return;
	}
	vlapic_accept_interrupt(&v->lapic, (unsigned)vector);
	const struct event e = { .valid = true, .type = EVENT_EXTERNAL_INTERRUPT, .vector = (uint8_t)vector };
	inject(v, &e);
	v->interrupts_injected++;
	/* Another one waiting behind it is taken when the guest next opens a window. */
	set_window_exiting(v, CPU_INTERRUPT_WINDOW_EXITING, vlapic_pending_vector(&v->lapic) != VLAPIC_NO_VECTOR);
}

void vmx_inject_events(struct vcpu *v, uint64_t now)
{
	struct vcpu_events *q = &v->events;
	bool busy = false;

	q->queued = false;
	/* First what was already on its way: a queued exception, an interrupted NMI or interrupt. */
	if (q->exception.valid) {
		inject(v, &q->exception);
		q->exception.valid = false;
		busy = true;
	} else if (q->nmi_redeliver) {
		const struct event nmi = { .valid = true, .type = EVENT_NMI, .vector = VECTOR_NMI };
		inject(v, &nmi);
		q->nmi_redeliver = false;
		busy = true;
	} else if (q->interrupt.valid && !interrupts_blocked(v)) {
		/* Its delivery starts over, on the same conditions as a new interrupt's (SDM 26.3.1.4: RFLAGS.IF = 1). */
		inject(v, &q->interrupt);
		q->interrupt.valid = false;
		busy = true;
		/* With virtual-interrupt delivery nothing else turns the window off (apicv.c never asks for it). */
		if (v->apicv_active)
			set_window_exiting(v, CPU_INTERRUPT_WINDOW_EXITING, false);
	}
	/*
	 * The vLAPIC: nothing changed and nothing waits for a window, the last look still holds (most exits).
	 * A real-mode start in virtual-8086 mode takes none: an event there would go through the
	 * protected-mode IDT, not the real-mode vector table (vmm/exit/vm86.c); they wait for CR0.PE.
	 */
	if (!v->vm86 && (v->lapic.events_changed || v->events_waiting)) {
		v->lapic.events_changed = false;
		busy |= deliver_nmi(v, busy); /* an NMI goes before an external interrupt (SDM Vol. 3A 6.9) */
		if (v->apicv_active)
			apicv_before_entry(v, now, busy || q->interrupt.valid); /* the CPU delivers (virtual-interrupt delivery) */
		else
			vmx_deliver_interrupt(v, busy || q->interrupt.valid);
		v->events_waiting = v->lapic.nmi_pending ||
				    (v->proc_controls & (CPU_INTERRUPT_WINDOW_EXITING | CPU_NMI_WINDOW_EXITING));
	}
	/*
	 * What an exception went ahead of must not be stranded (vmm/events.h: "kept by the queue and
	 * delivered after it"): an interrupted NMI or interrupt waits for its window exit, or, without
	 * "virtual NMIs" (no NMI-window exiting, SDM 27.2.1.1), for the next exit of any kind.
	 */
	if (q->nmi_redeliver) {
		set_window_exiting(v, CPU_NMI_WINDOW_EXITING, v->virtual_nmis);
		v->events_waiting = true;
	}
	if (q->interrupt.valid) {
		set_window_exiting(v, CPU_INTERRUPT_WINDOW_EXITING, true);
		v->events_waiting = true;
	}
}
