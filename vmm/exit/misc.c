/* Small exits: HLT, cache flushes, XSETBV, INVLPG, RDPMC, VMX and MONITOR/MWAIT instructions, events, watchdog. */
#include <arch/cpuid.h>
#include <arch/cr.h>
#include <arch/segment.h>
#include <arch/vmx.h>
#include <arch/vmx_state.h>
#include "vmm/exits.h"
#include "vmm/tlb.h"
#include "vmm/log.h"
#include "vmm/vlapic.h"
#include "vmm/vuart.h"
#include "vmm/shadow.h"
#include "vmm/status.h"
#include "vmm/vmcs.h"

#define XCR0_X87       (1ull << 0)
#define XCR0_SSE       (1ull << 1)
#define XCR0_AVX       (1ull << 2)
#define XCR0_BNDREGS   (1ull << 3)
#define XCR0_BNDCSR    (1ull << 4)
#define XCR0_AVX512    (7ull << 5)  /* opmask, ZMM_Hi256, Hi16_ZMM */
#define XCR0_TILECFG   (1ull << 17)
#define XCR0_TILEDATA  (1ull << 18)
#define XCR_INDEX_XCR0 0

/* The XCR0 consistency rules of SDM Vol. 1 13.3 / Vol. 2C XSETBV (each violation is #GP). */
static bool xcr0_valid(uint64_t v, uint64_t supported)
{
	if (!(v & XCR0_X87) || (v & ~supported))
		return false;
	if ((v & XCR0_AVX) && !(v & XCR0_SSE))
		return false;
	if ((v & XCR0_AVX512) && ((v & XCR0_AVX512) != XCR0_AVX512 || (v & (XCR0_SSE | XCR0_AVX)) != (XCR0_SSE | XCR0_AVX)))
		return false;
	if (!(v & XCR0_BNDREGS) != !(v & XCR0_BNDCSR))
		return false;
	if (!(v & XCR0_TILECFG) != !(v & XCR0_TILEDATA))
		return false;
	return true;
}

/*
 * HLT (SDM Vol. 2A HLT).  With RFLAGS.IF = 1 the vCPU waits for its next interrupt: it re-enters in
 * the HLT activity state (SDM 25.4.2, 27.7.2), where the VMX-preemption timer keeps counting (26.5.1),
 * armed for the vLAPIC timer or the watchdog, whichever comes first; the next injected interrupt
 * makes it active again (vcpu_inject_pending_interrupt).  A halt with nothing armed is caught by the
 * watchdog.  With RFLAGS.IF = 0 only an NMI could wake it, and none is ever delivered: it resumes at
 * once, as before interrupts existed (the guest suite's exit_hlt relies on that).
 */
void handle_hlt(struct vcpu *v)
{
	vcpu_skip_instruction(v);
	if ((vmcs_readnat(GUEST_RFLAGS) & RFLAGS_IF) && vlapic_pending_vector(vcpu_lapic(v)) == VLAPIC_NO_VECTOR)
		vmcs_write32(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_HLT);
}

/* Interrupt-window exit (SDM 26.7.5): the guest can take an interrupt now; the entry path injects it. */
void handle_interrupt_window(struct vcpu *v) { (void)v; }

/* NMI-window exit (SDM 26.7.6): NMIs are no longer blocked; the entry path injects the pending one. */
void handle_nmi_window(struct vcpu *v) { (void)v; }

/* INVD / WBINVD: guest RAM is ordinary write-back memory, coherent for the monitor; nothing to do. */
void handle_cache_flush(struct vcpu *v)
{
	vcpu_skip_instruction(v);
}

/* XSETBV (SDM Vol. 2C XSETBV): checked against what the CPU supports, then executed for the guest. */
void handle_xsetbv(struct vcpu *v)
{
	const uint32_t index = (uint32_t)v->regs.rcx;
	const uint64_t value = (v->regs.rdx << 32) | (uint32_t)v->regs.rax;
	struct cpuid_regs x = cpuid(CPUID_LEAF_XSAVE, 0);
	const uint64_t supported = ((uint64_t)x.edx << 32) | x.eax;

	/* An invalid value must never reach the monitor's own XSETBV: it would #GP in root mode. */
	if (index != XCR_INDEX_XCR0 || !xcr0_valid(value, supported)) {
		log_debug("guest XSETBV XCR%u <- %#llx refused: #GP", index, (unsigned long long)value);
		vcpu_inject_gp0(v);
		return;
	}
	/* The monitor never uses extended state, so XCR0 is the guest's alone. */
	xsetbv(index, value);
	vcpu_skip_instruction(v);
}

/* INVLPG exits only in shadow mode: drop the shadow entry, flush the one address from the guest's TLB. */
void handle_invlpg(struct vcpu *v)
{
	if (v->mem_mode == HV_MEM_SHADOW)
		shadow_invlpg(v, v->exit_qualification);
	else
		tlb_flush_guest_addr(v, v->exit_qualification);
	vcpu_skip_instruction(v);
}

/* No performance counters are virtualized: RDPMC faults as with an invalid counter. */
void handle_rdpmc(struct vcpu *v) { vcpu_inject_gp0(v); }

/* VMX is hidden from the guest (CPUID.1:ECX.VMX = 0): its instructions are undefined. */
void handle_vmx_instruction(struct vcpu *v) { vcpu_inject_ud(v); }

/* MONITOR/MWAIT are hidden in CPUID.1:ECX[3]. */
void handle_monitor_mwait(struct vcpu *v) { vcpu_inject_ud(v); }

/*
 * A host interrupt arrived while the guest ran.  "Acknowledge interrupt on
 * exit" took it from the interrupt controller; the monitor runs with
 * interrupts off and has no use for it.
 */
void handle_external_interrupt(struct vcpu *v)
{
	log_debug("host interrupt vector %u during guest execution: dropped",
		  vmcs_read32(VM_EXIT_INTR_INFO) & INTR_INFO_VECTOR_MASK);
	vcpu_reinject_vectoring_event(v); /* it may have come in the middle of delivering a guest event */
}

void handle_triple_fault(struct vcpu *v)
{
	exit_report_and_stop(v, HV_ERR_TRIPLE_FAULT,
			     "guest triple fault: an exception occurred while delivering a double fault "
			     "(the guest's IDT, GDT or stack is broken)");
}

/* The monitor never sets the monitor trap flag. */
void handle_monitor_trap_flag(struct vcpu *v)
{
	exit_report_and_stop(v, HV_ERR_UNEXPECTED_EXIT, "monitor trap flag exit, but the monitor did not set it");
}

void handle_preemption_timer(struct vcpu *v)
{
	if (v->cfg->brk == HV_BREAK_EXIT_STORM)
		return; /* test only: exits for their own sake; the timer reloads at the next entry */
	if (v->cfg->brk == HV_BREAK_NO_HLT_EXITING) {
		/* Test only: HLT did not exit, so wake the guest as an interrupt would (SDM 25.4.2). */
		if (vmcs_read32(GUEST_ACTIVITY_STATE) == GUEST_ACTIVITY_HLT)
			vmcs_write32(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
		return;
	}
	/*
	 * The vLAPIC timer's deadline: the entry path delivers its interrupt.  These exits come between
	 * instructions, never during event delivery (SDM 28.2.4): the IDT-vectoring field is not theirs.
	 */
	if (!v->timer_is_watchdog)
		return;
	if (v->watchdog_across_exits)
		log_error("guest watchdog: %llu million TSC cycles passed without progress from the guest (no console "
			  "output, no successful hypercall; stuck in a loop?) at RIP=%#llx; raise watchdog= if that is intended",
			  (unsigned long long)v->watchdog_mcycles, (unsigned long long)vmcs_readnat(GUEST_RIP));
	else
		log_error("guest watchdog: the guest ran %llu million TSC cycles without a single VM exit "
			  "(stuck in a loop?) at RIP=%#llx; raise watchdog= if that is intended",
			  (unsigned long long)v->watchdog_mcycles, (unsigned long long)vmcs_readnat(GUEST_RIP));
	const struct vlapic *a = vcpu_lapic(v);
	log_error("  interrupts: RFLAGS.IF=%u, interruptibility %#x, activity %u, vLAPIC IRR top %d ISR top %d TPR %#x "
		  "PPR %#x%s, %s", (unsigned)((vmcs_readnat(GUEST_RFLAGS) & RFLAGS_IF) != 0),
		  vmcs_read32(GUEST_INTERRUPTIBILITY_INFO), vmcs_read32(GUEST_ACTIVITY_STATE),
		  vlapic_highest_irr(a), vlapic_highest_isr(a), a->tpr, vlapic_ppr(a),
		  a->nmi_pending ? ", NMI pending" : "", v->apicv_active ? "APIC virtualization on" : "software");
	exit_report_and_stop(v, HV_ERR_WATCHDOG, "guest stopped by the watchdog");
}

/*
 * The watchdog measures time since the guest's last sign of life, the monitor's share included: the
 * timer counts only in the guest, so the cycles spent handling exits are taken off what is left (a
 * guest looping on exits, a #PF it never gets past for instance, spends most of its time here).
 */
void watchdog_note_progress(struct vcpu *v, uint64_t exit_cycles)
{
	if (!v->watchdog_across_exits)
		return;
	/* A refused hypercall is no sign of life: a flood of them must not keep the guest alive. */
	const uint64_t mark = vuart_bytes_sent() + v->hypercalls_done;
	if (mark != v->watchdog_mark) {
		v->watchdog_mark = mark;
		v->watchdog_left = v->preemption_timer_ticks;
		return;
	}
	const uint64_t ticks = exit_cycles >> v->caps->preemption_timer_rate;
	v->watchdog_left = v->watchdog_left > ticks ? v->watchdog_left - ticks : 0;
}

/* At each VM exit: the guest time the timer counted goes off the watchdog (SDM 28.3.4 saved the rest). */
void preemption_timer_after_exit(struct vcpu *v)
{
	if (!v->watchdog_across_exits)
		return;
	const uint32_t left = vmcs_read32(VMX_PREEMPTION_TIMER_VALUE);
	const uint64_t ran = v->timer_programmed > left ? v->timer_programmed - left : 0;
	v->watchdog_left = v->watchdog_left > ran ? v->watchdog_left - ran : 0;
}

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
	const bool watchdog = v->cfg->watchdog != 0;
	uint64_t value = !watchdog ? PREEMPTION_TIMER_VALUE_MAX
			 : v->watchdog_across_exits ? v->watchdog_left : v->preemption_timer_ticks;
	v->timer_is_watchdog = watchdog;
	const uint64_t deadline = vlapic_next_deadline(&v->lapic);
	if (deadline != VLAPIC_NO_DEADLINE) {
		/* Rounded up: the exit comes at the deadline, never before it. */
		const uint64_t ticks = deadline > now ? (deadline - now + (1ull << rate) - 1) >> rate : 0;
		if (ticks < value) {
			value = ticks;
			v->timer_is_watchdog = false;
		}
	}
	if (value > PREEMPTION_TIMER_VALUE_MAX)
		value = PREEMPTION_TIMER_VALUE_MAX;
	v->timer_programmed = (uint32_t)value;
	vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, (uint32_t)value);
}

/* Exceptions exit only when the exception bitmap asks (shadow mode: #PF, and #DB while single-stepping), and NMIs. */
void handle_exception_nmi(struct vcpu *v)
{
	uint32_t info = vmcs_read32(VM_EXIT_INTR_INFO);
	unsigned vector = info & INTR_INFO_VECTOR_MASK;
	unsigned type = INTR_INFO_TYPE(info);
	if (type == INTR_TYPE_NMI) {
		log_warn("NMI while the guest ran: ignored");
		vcpu_reinject_vectoring_event(v); /* as for a host interrupt: it may have cut a guest event's delivery short */
		return;
	}
	if (vector == VECTOR_PF && v->mem_mode == HV_MEM_SHADOW) {
		shadow_handle_page_fault(v);
		return;
	}
	if (vector == VECTOR_DB && v->mem_mode == HV_MEM_SHADOW) {
		shadow_handle_debug_exception(v); /* the end of a single-step of the monitor's */
		return;
	}
	log_error("guest exception %s (vector %u) exited unexpectedly", exception_name(vector), vector);
	exit_report_and_stop(v, HV_ERR_UNEXPECTED_EXIT, "unexpected exception exit");
}
