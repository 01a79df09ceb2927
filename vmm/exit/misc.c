/* Small exits: HLT, cache flushes, XSETBV, INVLPG, RDPMC, VMX and MONITOR/MWAIT instructions, events, watchdog. */
#include <arch/cpuid.h>
#include <arch/msr.h>
#include <arch/cr.h>
#include <arch/segment.h>
#include <arch/xcr.h>
#include <arch/vmx_state.h>
#include "vmm/exits.h"
#include "vmm/backend.h"
#include "vmm/log.h"
#include "vmm/vlapic.h"
#include "vmm/host_apic.h"
#include "vmm/vuart.h"
#include "vmm/xapic_mmio.h"
#include "vmm/mmu_ops.h"
#include "vmm/status.h"

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
 * makes it active again (the entry path, vmm/vmx/inject.c).  A halt with nothing armed is caught by the
 * watchdog.  With RFLAGS.IF = 0 only an NMI could wake it, and none is ever delivered: it resumes at
 * once, as before interrupts existed (the guest suite's exit_hlt relies on that).
 */
int handle_hlt(struct vcpu *v, const struct vm_exit *e)
{
	(void)e;
	vcpu_skip_instruction(v);
	if ((vcpu_read(v, VCPU_RFLAGS) & RFLAGS_IF) && vlapic_pending_vector(vcpu_lapic(v)) == VLAPIC_NO_VECTOR)
		vcpu_write(v, VCPU_ACTIVITY_STATE, VCPU_ACTIVITY_HLT);
	return EXIT_RESUME;
}

/* Interrupt-window exit (SDM 26.7.5): the guest can take an interrupt now; the entry path injects it. */
int handle_interrupt_window(struct vcpu *v, const struct vm_exit *e) { (void)v, (void)e; return EXIT_RESUME; }

/* NMI-window exit (SDM 26.7.6): NMIs are no longer blocked; the entry path injects the pending one. */
int handle_nmi_window(struct vcpu *v, const struct vm_exit *e) { (void)v, (void)e; return EXIT_RESUME; }

/* TPR below threshold (SDM 30.1.2, trap-like: the TPR write is done): look again at what to inject. */
int handle_tpr_below_threshold(struct vcpu *v, const struct vm_exit *e)
{
	(void)e;
	vcpu_lapic(v)->events_changed = true;
	return EXIT_RESUME;
}

/* INVD / WBINVD: guest RAM is ordinary write-back memory, coherent for the monitor; nothing to do. */
int handle_cache_flush(struct vcpu *v, const struct vm_exit *e)
{
	(void)e;
	vcpu_skip_instruction(v);
	return EXIT_RESUME;
}

/* XSETBV (SDM Vol. 2C XSETBV): checked against what the CPU supports, then executed for the guest. */
int handle_xsetbv(struct vcpu *v, const struct vm_exit *e)
{
	(void)e;
	const uint32_t index = (uint32_t)v->regs.rcx;
	const uint64_t value = (v->regs.rdx << 32) | (uint32_t)v->regs.rax;
	struct cpuid_regs x = cpuid(CPUID_LEAF_XSAVE, 0);
	const uint64_t supported = ((uint64_t)x.edx << 32) | x.eax;

	/* An invalid value must never reach the monitor's own XSETBV: it would #GP in root mode. */
	if (index != XCR_INDEX_XCR0 || !xcr0_valid(value, supported)) {
		log_debug("guest XSETBV XCR%u <- %#llx refused: #GP", index, (unsigned long long)value);
		vcpu_inject_gp0(v);
		return EXIT_RESUME;
	}
	/* The monitor never uses extended state, so XCR0 is the guest's alone. */
	xsetbv(index, value);
	vcpu_skip_instruction(v);
	return EXIT_RESUME;
}

/* INVLPG exits only in shadow mode: drop the shadow entry, flush the one address from the guest's TLB. */
int handle_invlpg(struct vcpu *v, const struct vm_exit *e)
{
	v->mmu->invlpg(v, e->linear);
	vcpu_skip_instruction(v);
	return EXIT_RESUME;
}

/* No performance counters are virtualized: RDPMC faults as with an invalid counter. */
int handle_rdpmc(struct vcpu *v, const struct vm_exit *e) { (void)e; vcpu_inject_gp0(v); return EXIT_RESUME; }

/* VMX is hidden from the guest (CPUID.1:ECX.VMX = 0): its instructions are undefined. */
int handle_virt_instruction(struct vcpu *v, const struct vm_exit *e) { (void)e; vcpu_inject_ud(v); return EXIT_RESUME; }

/* MONITOR/MWAIT are hidden in CPUID.1:ECX[3]. */
int handle_monitor_mwait(struct vcpu *v, const struct vm_exit *e) { (void)e; vcpu_inject_ud(v); return EXIT_RESUME; }

/*
 * A host interrupt arrived while the guest ran.  "Acknowledge interrupt on
 * exit" took it from the interrupt controller; the monitor runs with
 * interrupts off and has no use for it.
 */
int handle_external_interrupt(struct vcpu *v, const struct vm_exit *e)
{
	/* Another CPU's kick (vmm/core/ipi.c): the run loop looks at what was posted; the APIC wants its EOI. */
	if (e->intr.event.vector == HOST_KICK_VECTOR) {
		v->kicks_received++;
		host_apic_eoi();
		return EXIT_RESUME;
	}
	/* It may have come in the middle of delivering a guest event: the backend queued that again. */
	log_debug("host interrupt vector %u during guest execution: dropped", e->intr.event.vector);
	return EXIT_RESUME;
}

int handle_triple_fault(struct vcpu *v, const struct vm_exit *e)
{
	(void)e;
	return exit_report_and_stop(v, HV_ERR_TRIPLE_FAULT,
			     "guest triple fault: an exception occurred while delivering a double fault "
			     "(the guest's IDT, GDT or stack is broken)");
}

/* The monitor never sets the monitor trap flag. */
int handle_single_step_trap(struct vcpu *v, const struct vm_exit *e)
{
	(void)e;
	return exit_report_and_stop(v, HV_ERR_UNEXPECTED_EXIT, "monitor trap flag exit, but the monitor did not set it");
}

int handle_timer(struct vcpu *v, const struct vm_exit *e)
{
	(void)e;
	if (v->cfg->brk == HV_BREAK_EXIT_STORM)
		return EXIT_RESUME; /* test only: exits for their own sake; the timer reloads at the next entry */
	if (v->cfg->brk == HV_BREAK_NO_HLT_EXITING) {
		/* Test only: HLT did not exit, so wake the guest as an interrupt would (SDM 25.4.2). */
		if (vcpu_read(v, VCPU_ACTIVITY_STATE) == VCPU_ACTIVITY_HLT)
			vcpu_write(v, VCPU_ACTIVITY_STATE, VCPU_ACTIVITY_ACTIVE);
		return EXIT_RESUME;
	}
	/*
	 * The vLAPIC timer's deadline: the entry path delivers its interrupt.  These exits come between
	 * instructions, never during event delivery (SDM 28.2.4): the IDT-vectoring field is not theirs.
	 */
	if (!v->timer_is_watchdog || rdtsc() < v->watchdog_deadline)
		return EXIT_RESUME; /* or the timer's 32 bits ran out before the watchdog's deadline: armed again */
	log_error("guest watchdog: %llu million TSC cycles passed without progress from the guest (no console "
		  "output, no successful hypercall; stuck in a loop?) at RIP=%#llx; raise watchdog= if that is intended",
		  (unsigned long long)v->cfg->watchdog, (unsigned long long)vcpu_read(v, VCPU_RIP));
	const struct vlapic *a = vcpu_lapic(v);
	log_error("  interrupts: RFLAGS.IF=%u, interruptibility %#x, activity %u, vLAPIC IRR top %d ISR top %d TPR %#x "
		  "PPR %#x%s, %s", (unsigned)((vcpu_read(v, VCPU_RFLAGS) & RFLAGS_IF) != 0),
		  (unsigned)vcpu_read(v, VCPU_INTERRUPTIBILITY_INFO), (unsigned)vcpu_read(v, VCPU_ACTIVITY_STATE),
		  vlapic_highest_irr(a), vlapic_highest_isr(a), a->tpr, vlapic_ppr(a),
		  a->nmi_pending ? ", NMI pending" : "", v->apicv_active ? "APIC virtualization on" : "software");
	return exit_report_and_stop(v, HV_ERR_WATCHDOG, "guest stopped by the watchdog");
}

/* Exceptions exit only when the exception bitmap asks (shadow mode: #PF, and #DB while single-stepping). */
int handle_exception(struct vcpu *v, const struct vm_exit *e)
{
	const unsigned vector = e->intr.event.vector;
	if (__builtin_expect(v->vm86, 0))
		return vm86_exception(v, e); /* a real-mode start under shadow paging (vmm/exit/vm86.c) */
	if (v->mmu->exception) {
		uint64_t gpa;
		const int r = v->mmu->exception(v, e, &gpa);
		return r == MMU_EMULATE_MMIO ? xapic_mmio_emulate(v, e, gpa) : r;
	}
	log_error("guest exception %s (vector %u) exited unexpectedly", exception_name(vector), vector);
	return exit_report_and_stop(v, HV_ERR_UNEXPECTED_EXIT, "unexpected exception exit");
}

/* A host NMI while the guest ran: as for a host interrupt, the backend queued an interrupted guest event again. */
int handle_nmi(struct vcpu *v, const struct vm_exit *e)
{
	(void)v, (void)e;
	log_warn("NMI while the guest ran: ignored");
	return EXIT_RESUME;
}
