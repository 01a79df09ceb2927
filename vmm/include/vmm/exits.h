/*
 * VM-exit handling: a dispatch table indexed by basic exit reason
 * (vmm/exit/dispatch.c); each handler lives with its concern in vmm/exit/.
 */
#ifndef VMM_EXITS_H
#define VMM_EXITS_H

#include <stdint.h>
#include "vmm/vcpu.h"

typedef void (*exit_handler_fn)(struct vcpu *v);

/* Handle the current exit (v->exit_reason already read). */
void exit_dispatch(struct vcpu *v);

/* Handlers, by concern. */
void handle_cpuid(struct vcpu *v);                      /* exit/cpuid.c */
void handle_rdmsr(struct vcpu *v);                      /* exit/msr.c */
void handle_wrmsr(struct vcpu *v);
void handle_io(struct vcpu *v);                         /* exit/io.c */
void handle_cr_access(struct vcpu *v);                  /* exit/cr.c */
void handle_descriptor_table(struct vcpu *v);           /* exit/dtable.c */
void handle_hlt(struct vcpu *v);                        /* exit/misc.c */
void handle_cache_flush(struct vcpu *v);
void handle_xsetbv(struct vcpu *v);
void handle_invlpg(struct vcpu *v);
void handle_rdpmc(struct vcpu *v);
void handle_vmx_instruction(struct vcpu *v);
void handle_monitor_mwait(struct vcpu *v);
void handle_external_interrupt(struct vcpu *v);
void handle_triple_fault(struct vcpu *v);
void handle_preemption_timer(struct vcpu *v);
void handle_interrupt_window(struct vcpu *v);
void handle_nmi_window(struct vcpu *v);
/* The VMX-preemption timer: armed before each entry for the watchdog or the vLAPIC timer (exit/misc.c). */
#define PREEMPTION_TIMER_VALUE_MAX 0xffffffffull
void preemption_timer_program(struct vcpu *v, uint64_t now);
void preemption_timer_after_exit(struct vcpu *v);
void handle_monitor_trap_flag(struct vcpu *v);
/*
 * After each exit (exit_cycles: the monitor's time on it): console output or a successful hypercall since the
 * last refill restarts the watchdog, anything else counts against it (exit/misc.c).
 */
void watchdog_note_progress(struct vcpu *v, uint64_t exit_cycles);
void handle_exception_nmi(struct vcpu *v);
void handle_ept_violation(struct vcpu *v);              /* exit/ept.c */
void handle_ept_misconfig(struct vcpu *v);
void handle_vmcall(struct vcpu *v);                     /* hypercall.c */
void handle_task_switch(struct vcpu *v);                /* exit/task.c */

/* Control-register policy (exit/cr.c), also used to build the initial VMCS. */
uint64_t cr0_hardware_value(const struct vcpu *v, uint64_t guest_cr0);
uint64_t cr4_hardware_value(const struct vcpu *v, uint64_t guest_cr4);
uint64_t efer_hardware_value(const struct vcpu *v);
/* Give the hardware the guest's EFER: the VMCS field, or the real MSR without EFER switching. */
void efer_apply(const struct vcpu *v);
/*
 * Load CR0 or CR3 exactly as an emulated MOV to CR would (checks, shadows, PDPTEs,
 * shadow-paging switch, TLB flushes); false when the value would #GP.
 */
bool cr_load_cr0(struct vcpu *v, uint64_t value);
bool cr_load_cr3(struct vcpu *v, uint64_t value);


/* Stop the guest with a full report of the current exit (unexpected or fatal). */
void exit_report_and_stop(struct vcpu *v, int status, const char *what);

#endif
