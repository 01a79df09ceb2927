/* Small exits: HLT, cache flushes, XSETBV, INVLPG, RDPMC, VMX and MONITOR/MWAIT instructions, events, watchdog. */
#include <arch/cpuid.h>
#include <arch/cr.h>
#include <arch/segment.h>
#include <arch/vmx.h>
#include <arch/vmx_state.h>
#include "vmm/exits.h"
#include "vmm/tlb.h"
#include "vmm/log.h"
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

/* HLT: nothing can wake a halted guest (no interrupts are delivered), so resume at once. */
void handle_hlt(struct vcpu *v)
{
	vcpu_skip_instruction(v);
}

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
	(void)v;
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
	if (v->watchdog_across_exits)
		log_error("guest watchdog: %llu million TSC cycles passed without progress from the guest (no console "
			  "output, no successful hypercall; stuck in a loop?) at RIP=%#llx; raise watchdog= if that is intended",
			  (unsigned long long)v->watchdog_mcycles, (unsigned long long)vmcs_readnat(GUEST_RIP));
	else
		log_error("guest watchdog: the guest ran %llu million TSC cycles without a single VM exit "
			  "(stuck in a loop?) at RIP=%#llx; raise watchdog= if that is intended",
			  (unsigned long long)v->watchdog_mcycles, (unsigned long long)vmcs_readnat(GUEST_RIP));
	exit_report_and_stop(v, HV_ERR_WATCHDOG, "guest stopped by the watchdog");
}

/*
 * The watchdog measures time since the guest's last sign of life, the monitor's share included: the
 * timer counts only in the guest, so the cycles spent handling exits are taken off what is left (a
 * guest looping on exits, a #PF it never gets past for instance, spends most of its time here).  To
 * keep exits cheap, they are collected and taken off in batches of 1/WATCHDOG_BATCHES of the period:
 * the watchdog may fire that much late, never early.
 */
#define WATCHDOG_BATCHES 16

void watchdog_note_progress(struct vcpu *v, uint64_t exit_cycles)
{
	if (!v->watchdog_across_exits)
		return;
	/* A refused hypercall is no sign of life: a flood of them must not keep the guest alive. */
	const uint64_t mark = vuart_bytes_sent() + v->hypercalls_done;
	if (mark != v->watchdog_mark) {
		v->watchdog_mark = mark;
		v->watchdog_monitor_ticks = 0;
		vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, (uint32_t)v->preemption_timer_ticks);
		return;
	}
	v->watchdog_monitor_ticks += exit_cycles >> v->caps->preemption_timer_rate;
	if (v->watchdog_monitor_ticks < v->preemption_timer_ticks / WATCHDOG_BATCHES)
		return;
	const uint64_t left = vmcs_read32(VMX_PREEMPTION_TIMER_VALUE);
	/* At 0 the next VM entry exits at once, before any guest instruction (SDM 27.7.4). */
	vmcs_write32(VMX_PREEMPTION_TIMER_VALUE,
		     (uint32_t)(left > v->watchdog_monitor_ticks ? left - v->watchdog_monitor_ticks : 0));
	v->watchdog_monitor_ticks = 0;
}

/* Exceptions exit only when the exception bitmap asks (shadow mode: #PF, and #DB while single-stepping), and NMIs. */
void handle_exception_nmi(struct vcpu *v)
{
	uint32_t info = vmcs_read32(VM_EXIT_INTR_INFO);
	unsigned vector = info & INTR_INFO_VECTOR_MASK;
	unsigned type = INTR_INFO_TYPE(info);
	if (type == INTR_TYPE_NMI) {
		log_warn("NMI while the guest ran: ignored");
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
