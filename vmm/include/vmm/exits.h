/*
 * VM-exit handling: the backend decodes each exit into a neutral record (vmm/vm_exit.h); the
 * dispatch table (vmm/exit/dispatch.c), indexed by exit kind, picks one small handler, which
 * lives with its concern in vmm/exit/ and returns EXIT_RESUME or the status to stop the guest with.
 */
#ifndef VMM_EXITS_H
#define VMM_EXITS_H

#include <stdint.h>
#include "vmm/vcpu.h"
#include "vmm/vm_exit.h"
#include "vmm/vuart.h"

typedef int (*exit_handler_fn)(struct vcpu *v, const struct vm_exit *e);

/* Handle the decoded exit: EXIT_RESUME or a status. */
int exit_dispatch(struct vcpu *v, const struct vm_exit *e);
/* Every exit kind has a handler (checked once at start-up). */
bool exit_handlers_complete(void);

/* An emulation helper's third outcome besides EXIT_RESUME and a status: the instruction faults (#GP(0)). */
#define EMULATE_FAULT (-2)

/* Handlers, by concern. */
int handle_cpuid(struct vcpu *v, const struct vm_exit *e);                 /* exit/cpuid.c */
int handle_rdmsr(struct vcpu *v, const struct vm_exit *e);                 /* exit/msr.c */
int handle_wrmsr(struct vcpu *v, const struct vm_exit *e);
int handle_io(struct vcpu *v, const struct vm_exit *e);                    /* exit/io.c */
int handle_cr_access(struct vcpu *v, const struct vm_exit *e);             /* exit/cr.c */
int handle_descriptor_table(struct vcpu *v, const struct vm_exit *e);      /* exit/dtable.c */
int handle_hlt(struct vcpu *v, const struct vm_exit *e);                   /* exit/misc.c */
int vm86_exception(struct vcpu *v, const struct vm_exit *e);               /* exit/vm86.c */
int handle_cache_flush(struct vcpu *v, const struct vm_exit *e);
int handle_xsetbv(struct vcpu *v, const struct vm_exit *e);
int handle_invlpg(struct vcpu *v, const struct vm_exit *e);
int handle_rdpmc(struct vcpu *v, const struct vm_exit *e);
int handle_virt_instruction(struct vcpu *v, const struct vm_exit *e);
int handle_monitor_mwait(struct vcpu *v, const struct vm_exit *e);
int handle_external_interrupt(struct vcpu *v, const struct vm_exit *e);
int handle_nmi(struct vcpu *v, const struct vm_exit *e);
int handle_exception(struct vcpu *v, const struct vm_exit *e);
int handle_triple_fault(struct vcpu *v, const struct vm_exit *e);
int handle_timer(struct vcpu *v, const struct vm_exit *e);
int handle_interrupt_window(struct vcpu *v, const struct vm_exit *e);
int handle_nmi_window(struct vcpu *v, const struct vm_exit *e);
int handle_tpr_below_threshold(struct vcpu *v, const struct vm_exit *e);
int handle_single_step_trap(struct vcpu *v, const struct vm_exit *e);
int handle_nested_page_fault(struct vcpu *v, const struct vm_exit *e);     /* exit/npf.c */
int handle_nested_page_misconfig(struct vcpu *v, const struct vm_exit *e);
int handle_hypercall(struct vcpu *v, const struct vm_exit *e);             /* hypercall.c */
int handle_task_switch(struct vcpu *v, const struct vm_exit *e);           /* exit/task.c */

/*
 * The watchdog is a TSC deadline: watchdog= million cycles after the guest's last sign of life, the
 * monitor's time on its exits included (a guest looping on exits, a #PF it never gets past for
 * instance, spends most of its time here).  After each exit (now: the TSC once it is handled),
 * console output or a successful hypercall since the last look moves the deadline.  The backend
 * arms its guest timer for it (vmm/vmx/vmx_backend.h, preemption_timer_arm).
 */
static inline void watchdog_note_progress(struct vcpu *v, uint64_t now)
{
	if (!v->watchdog_cycles)
		return;
	/* A refused hypercall is no sign of life: a flood of them must not keep the guest alive. */
	const uint64_t mark = vuart_bytes_sent(v->uart) + v->hypercalls_done;
	if (mark != v->watchdog_mark) {
		v->watchdog_mark = mark;
		v->watchdog_deadline = now + v->watchdog_cycles;
	}
}

#include "vmm/guest_cr.h" /* the hardware values of CR0, CR4, EFER */
/*
 * Load CR0 or CR3 exactly as an emulated MOV to CR would (checks, shadows, PDPTEs, shadow-paging
 * switch, TLB flushes): EXIT_RESUME, EMULATE_FAULT when the value would #GP, or a status to stop with.
 */
int cr_load_cr0(struct vcpu *v, uint64_t value);
int cr_load_cr3(struct vcpu *v, uint64_t value);
int cr_load_cr4(struct vcpu *v, uint64_t value);


#endif
