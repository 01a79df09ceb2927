/* The report of a vCPU the monitor stops: the exit, then the guest's registers (vmm/vcpu.h). */
#include "vmm/backend.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"

int exit_report_and_stop(struct vcpu *v, int status, const char *what)
{
	const struct vm_exit *e = &v->exit;
	log_error("%s", what);
	log_error("  exit reason %u (%s), qualification %#llx", e->reason, backend_exit_reason_name(e->reason),
		  (unsigned long long)e->qualification);
	log_error("  guest RIP=%#llx RSP=%#llx RFLAGS=%#llx CS=%#x (AR %#x)",
		  (unsigned long long)vcpu_read(v, VCPU_RIP), (unsigned long long)vcpu_read(v, VCPU_RSP),
		  (unsigned long long)vcpu_read(v, VCPU_RFLAGS), (unsigned)vcpu_read(v, VCPU_CS_SELECTOR),
		  (unsigned)vcpu_read(v, VCPU_CS_AR_BYTES));
	log_error("  guest CR0=%#llx (real %#llx) CR3=%#llx CR4=%#llx (real %#llx) EFER=%#llx",
		  (unsigned long long)v->guest_cr0, (unsigned long long)vcpu_read(v, VCPU_CR0),
		  (unsigned long long)vcpu_read(v, VCPU_CR3), (unsigned long long)v->guest_cr4,
		  (unsigned long long)vcpu_read(v, VCPU_CR4), (unsigned long long)v->guest_efer);
	log_error("  RAX=%#llx RBX=%#llx RCX=%#llx RDX=%#llx RSI=%#llx RDI=%#llx",
		  (unsigned long long)v->regs.rax, (unsigned long long)v->regs.rbx, (unsigned long long)v->regs.rcx,
		  (unsigned long long)v->regs.rdx, (unsigned long long)v->regs.rsi, (unsigned long long)v->regs.rdi);
	return status;
}
