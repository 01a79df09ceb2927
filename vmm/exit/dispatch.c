/* The exit dispatch table: one small handler per basic exit reason (SDM Vol. 3C Appendix C). */
#include <arch/vmcs_fields.h>
#include "vmm/apicv.h"
#include "vmm/exits.h"
#include "vmm/log.h"
#include "vmm/status.h"
#include "vmm/vmcs.h"

static const exit_handler_fn exit_handlers[EXIT_REASON_MAX] = {
	[EXIT_REASON_EXCEPTION_NMI] = handle_exception_nmi,
	[EXIT_REASON_EXTERNAL_INTERRUPT] = handle_external_interrupt,
	[EXIT_REASON_TRIPLE_FAULT] = handle_triple_fault,
	[EXIT_REASON_TASK_SWITCH] = handle_task_switch,
	[EXIT_REASON_CPUID] = handle_cpuid,
	[EXIT_REASON_HLT] = handle_hlt,
	[EXIT_REASON_INVD] = handle_cache_flush,
	[EXIT_REASON_WBINVD] = handle_cache_flush,
	[EXIT_REASON_INVLPG] = handle_invlpg,
	[EXIT_REASON_RDPMC] = handle_rdpmc,
	[EXIT_REASON_VMCALL] = handle_vmcall,
	[EXIT_REASON_VMCLEAR] = handle_vmx_instruction,
	[EXIT_REASON_VMLAUNCH] = handle_vmx_instruction,
	[EXIT_REASON_VMPTRLD] = handle_vmx_instruction,
	[EXIT_REASON_VMPTRST] = handle_vmx_instruction,
	[EXIT_REASON_VMREAD] = handle_vmx_instruction,
	[EXIT_REASON_VMRESUME] = handle_vmx_instruction,
	[EXIT_REASON_VMWRITE] = handle_vmx_instruction,
	[EXIT_REASON_VMXOFF] = handle_vmx_instruction,
	[EXIT_REASON_VMXON] = handle_vmx_instruction,
	[EXIT_REASON_INVEPT] = handle_vmx_instruction,
	[EXIT_REASON_INVVPID] = handle_vmx_instruction,
	[EXIT_REASON_CR_ACCESS] = handle_cr_access,
	[EXIT_REASON_IO_INSTRUCTION] = handle_io,
	[EXIT_REASON_RDMSR] = handle_rdmsr,
	[EXIT_REASON_WRMSR] = handle_wrmsr,
	[EXIT_REASON_MWAIT] = handle_monitor_mwait,
	[EXIT_REASON_MONITOR] = handle_monitor_mwait,
	[EXIT_REASON_GDTR_IDTR_ACCESS] = handle_descriptor_table,
	[EXIT_REASON_LDTR_TR_ACCESS] = handle_descriptor_table,
	[EXIT_REASON_EPT_VIOLATION] = handle_ept_violation,
	[EXIT_REASON_EPT_MISCONFIG] = handle_ept_misconfig,
	[EXIT_REASON_PREEMPTION_TIMER] = handle_preemption_timer,
	[EXIT_REASON_INTERRUPT_WINDOW] = handle_interrupt_window,
	[EXIT_REASON_NMI_WINDOW] = handle_nmi_window,
	[EXIT_REASON_TPR_BELOW_THRESHOLD] = handle_tpr_below_threshold,
	[EXIT_REASON_XSETBV] = handle_xsetbv,
	[EXIT_REASON_MONITOR_TRAP_FLAG] = handle_monitor_trap_flag,
};

void exit_dispatch(struct vcpu *v)
{
	exit_handler_fn h = v->exit_reason < EXIT_REASON_MAX ? exit_handlers[v->exit_reason] : 0;
	if (h) {
		h(v);
		return;
	}
	exit_report_and_stop(v, HV_ERR_UNEXPECTED_EXIT, "unexpected VM exit: the monitor has no handler for it");
	vmcs_dump();
}

void exit_report_and_stop(struct vcpu *v, int status, const char *what)
{
	log_error("%s", what);
	log_error("  exit reason %u (%s), qualification %#llx", v->exit_reason,
		  vmx_exit_reason_name(v->exit_reason), (unsigned long long)v->exit_qualification);
	log_error("  guest RIP=%#llx RSP=%#llx RFLAGS=%#llx CS=%#x (AR %#x)",
		  (unsigned long long)vmcs_readnat(GUEST_RIP), (unsigned long long)vmcs_readnat(GUEST_RSP),
		  (unsigned long long)vmcs_readnat(GUEST_RFLAGS), vmcs_read16(GUEST_CS_SELECTOR),
		  vmcs_read32(GUEST_CS_AR_BYTES));
	log_error("  guest CR0=%#llx (real %#llx) CR3=%#llx CR4=%#llx (real %#llx) EFER=%#llx",
		  (unsigned long long)v->guest_cr0, (unsigned long long)vmcs_readnat(GUEST_CR0),
		  (unsigned long long)vmcs_readnat(GUEST_CR3), (unsigned long long)v->guest_cr4,
		  (unsigned long long)vmcs_readnat(GUEST_CR4), (unsigned long long)v->guest_efer);
	log_error("  RAX=%#llx RBX=%#llx RCX=%#llx RDX=%#llx RSI=%#llx RDI=%#llx",
		  (unsigned long long)v->regs.rax, (unsigned long long)v->regs.rbx, (unsigned long long)v->regs.rcx,
		  (unsigned long long)v->regs.rdx, (unsigned long long)v->regs.rsi, (unsigned long long)v->regs.rdi);
	vcpu_stop(v, status);
}
