/* vCPU helpers shared by the exit handlers: registers, RIP, event injection, stopping. */
#include <arch/cr.h>
#include <arch/debug.h>
#include <arch/segment.h>
#include <arch/vmx_controls.h>
#include <arch/vmx_state.h>
#include "vmm/dr_match.h"
#include "vmm/exits.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vmcs.h"

static uint64_t *gpr_slot(struct vcpu *v, unsigned gpr)
{
	switch (gpr) {
	case GPR_RAX: return &v->regs.rax;
	case GPR_RCX: return &v->regs.rcx;
	case GPR_RDX: return &v->regs.rdx;
	case GPR_RBX: return &v->regs.rbx;
	case GPR_RBP: return &v->regs.rbp;
	case GPR_RSI: return &v->regs.rsi;
	case GPR_RDI: return &v->regs.rdi;
	case GPR_R8: return &v->regs.r8;
	case GPR_R9: return &v->regs.r9;
	case GPR_R10: return &v->regs.r10;
	case GPR_R11: return &v->regs.r11;
	case GPR_R12: return &v->regs.r12;
	case GPR_R13: return &v->regs.r13;
	case GPR_R14: return &v->regs.r14;
	case GPR_R15: return &v->regs.r15;
	default: return 0; /* RSP lives in the VMCS */
	}
}

uint64_t vcpu_gpr_read(struct vcpu *v, unsigned gpr)
{
	uint64_t *slot = gpr_slot(v, gpr);
	return slot ? *slot : vmcs_readnat(GUEST_RSP);
}

void vcpu_gpr_write(struct vcpu *v, unsigned gpr, uint64_t value)
{
	uint64_t *slot = gpr_slot(v, gpr);
	if (slot)
		*slot = value;
	else
		vmcs_writenat(GUEST_RSP, value);
}

/*
 * The emulated instruction is done, as if the CPU had executed it (SDM Vol. 3B 18.3.1): it clears RF
 * (18.3.1.1), ends blocking by STI and by MOV SS (Vol. 3C 25.4.2), and its trap-class debug
 * exceptions (data and I/O breakpoints noted by the handler, single step with TF) become pending
 * debug exceptions, delivered by the CPU right after VM entry (Vol. 3C 27.7.3).  The field keeps
 * what the exit saved there (a MOV SS's deferred breakpoints, for instance).
 */
void vcpu_skip_instruction(struct vcpu *v)
{
	vcpu_complete_instruction(v, vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
}

void vcpu_complete_instruction(struct vcpu *v, unsigned len)
{
	const uint64_t rflags = vmcs_readnat(GUEST_RFLAGS);
	const uint32_t blocking = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO);
	uint64_t pending = v->pending_dbg;

	vmcs_writenat(GUEST_RIP, vmcs_readnat(GUEST_RIP) + len);
	if (rflags & RFLAGS_RF)
		vmcs_writenat(GUEST_RFLAGS, rflags & ~RFLAGS_RF);
	if (blocking & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
		vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, blocking & ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
	/* TF traps after each instruction, unless IA32_DEBUGCTL.BTF limits it to branches (SDM Vol. 3B 18.4.3). */
	if ((rflags & RFLAGS_TF) && !(vmcs_read64(GUEST_IA32_DEBUGCTL) & DEBUGCTL_BTF))
		pending |= PENDING_DBG_BS;
	if (pending)
		vmcs_writenat(GUEST_PENDING_DBG_EXCEPTIONS, vmcs_readnat(GUEST_PENDING_DBG_EXCEPTIONS) | pending);
	v->pending_dbg = 0;
}

/* The guest's DR0-DR3: the monitor never writes them and VM exits leave them alone (SDM Vol. 3C 28.5.1). */
static void guest_breakpoint_addresses(uint64_t dr[DR_BREAKPOINTS])
{
	for (unsigned n = 0; n < DR_BREAKPOINTS; n++)
		dr[n] = read_dr(n);
}

void vcpu_note_data_access(struct vcpu *v, uint64_t gva, uint64_t len, bool write)
{
	uint64_t dr[DR_BREAKPOINTS];
	const uint64_t dr7 = vmcs_readnat(GUEST_DR7);
	if (!dr7_any_enabled(dr7))
		return;
	guest_breakpoint_addresses(dr);
	v->pending_dbg |= dr_match_data(dr, dr7, gva, len, write);
}

void vcpu_note_io_access(struct vcpu *v, uint16_t port, unsigned size)
{
	uint64_t dr[DR_BREAKPOINTS];
	const uint64_t dr7 = vmcs_readnat(GUEST_DR7);
	if (!dr7_any_enabled(dr7))
		return;
	guest_breakpoint_addresses(dr);
	v->pending_dbg |= dr_match_io(dr, dr7, (v->guest_cr4 & CR4_DE) != 0, port, size);
}

void vcpu_inject_exception(struct vcpu *v, unsigned vector, bool has_error_code, uint32_t error_code)
{
	uint32_t info = (vector & INTR_INFO_VECTOR_MASK) | (INTR_TYPE_HARD_EXCEPTION << INTR_INFO_TYPE_SHIFT) |
			INTR_INFO_VALID;
	v->pending_dbg = 0; /* the instruction faults: its breakpoints never trigger */
	/* An unrestricted guest in real mode (CR0.PE=0) gets no error code (SDM 27.2.1.3). */
	if (!(vmcs_readnat(GUEST_CR0) & CR0_PE))
		has_error_code = false;
	if (has_error_code) {
		info |= INTR_INFO_DELIVER_ERROR_CODE;
		vmcs_write32(VM_ENTRY_EXCEPTION_ERROR_CODE, error_code);
	}
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, info);
}

/* The event fields of a re-injection: valid, type, error-code flag, vector (SDM 27.6, Table 25-17). */
#define INTR_INFO_REINJECT (INTR_INFO_VALID | INTR_INFO_DELIVER_ERROR_CODE | INTR_INFO_TYPE_MASK | INTR_INFO_VECTOR_MASK)

void vcpu_reinject_vectoring_event(struct vcpu *v)
{
	const uint32_t idt_info = vmcs_read32(IDT_VECTORING_INFO_FIELD);
	(void)v;
	if (!(idt_info & INTR_INFO_VALID))
		return;
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, idt_info & INTR_INFO_REINJECT);
	if (idt_info & INTR_INFO_DELIVER_ERROR_CODE)
		vmcs_write32(VM_ENTRY_EXCEPTION_ERROR_CODE, vmcs_read32(IDT_VECTORING_ERROR_CODE));
	/* Software interrupts and exceptions push the address after their instruction (SDM 27.6.1.3). */
	vmcs_write32(VM_ENTRY_INSTRUCTION_LEN, vmcs_read32(VM_EXIT_INSTRUCTION_LEN));
}

/*
 * With "virtual NMIs", a fault or EPT violation of an IRET that was unblocking NMIs exits with
 * "NMI unblocking due to IRET" (bit 12 of the exit interruption information or qualification,
 * SDM 28.2.2, 28.2.3): the IRET runs again after the exit, so NMI blocking comes back (27.7.1).
 */
#define NMI_UNBLOCKING_DUE_TO_IRET (1u << 12)

void vcpu_restore_nmi_blocking(struct vcpu *v)
{
	uint64_t bits;
	if (!v->virtual_nmis)
		return;
	if (v->exit_reason == EXIT_REASON_EXCEPTION_NMI)
		bits = vmcs_read32(VM_EXIT_INTR_INFO);
	else if (v->exit_reason == EXIT_REASON_EPT_VIOLATION)
		bits = v->exit_qualification;
	else
		return;
	if (!(bits & NMI_UNBLOCKING_DUE_TO_IRET) || (vmcs_read32(IDT_VECTORING_INFO_FIELD) & INTR_INFO_VALID))
		return; /* undefined while an event was being delivered */
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) | INTERRUPTIBILITY_NMI);
}

static void set_interrupt_window_exiting(struct vcpu *v, bool on)
{
	const uint32_t want = on ? v->proc_controls | CPU_INTERRUPT_WINDOW_EXITING
				 : v->proc_controls & ~CPU_INTERRUPT_WINDOW_EXITING;
	if (want == v->proc_controls)
		return;
	v->proc_controls = want;
	vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, want);
}

static void set_nmi_window_exiting(struct vcpu *v, bool on)
{
	const uint32_t want = on ? v->proc_controls | CPU_NMI_WINDOW_EXITING : v->proc_controls & ~CPU_NMI_WINDOW_EXITING;
	if (want == v->proc_controls)
		return;
	v->proc_controls = want;
	vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, want);
}

void vcpu_inject_pending_nmi(struct vcpu *v)
{
	if (!v->lapic.nmi_pending) {
		set_nmi_window_exiting(v, false);
		return;
	}
	/* NMIs wait for NMI blocking (until the handler's IRET) and MOV SS or STI blocking (SDM 6.7.1, 25.4.2). */
	const bool busy = vmcs_read32(VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID;
	const bool blocked = vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) &
			     (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS | INTERRUPTIBILITY_NMI);
	if (busy || blocked) {
		/* SDM 26.7.6: an exit as soon as nothing blocks NMIs; it needs "virtual NMIs" (27.2.1.1). */
		set_nmi_window_exiting(v, v->virtual_nmis);
		return;
	}
	v->lapic.nmi_pending = false;
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, VECTOR_NMI | (INTR_TYPE_NMI << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID);
	if (vmcs_read32(GUEST_ACTIVITY_STATE) == GUEST_ACTIVITY_HLT)
		vmcs_write32(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	v->nmis_injected++;
	set_nmi_window_exiting(v, false);
}

void vcpu_inject_pending_interrupt(struct vcpu *v)
{
	const int vector = vlapic_pending_vector(vcpu_lapic(v));
	if (vector == VLAPIC_NO_VECTOR) {
		set_interrupt_window_exiting(v, false);
		return;
	}
	/* Another event (an exception of a handler's, a re-injection) goes first; the window exit comes after it. */
	const bool busy = vmcs_read32(VM_ENTRY_INTR_INFO_FIELD) & INTR_INFO_VALID;
	const bool masked = !(vmcs_readnat(GUEST_RFLAGS) & RFLAGS_IF) ||
			    (vmcs_read32(GUEST_INTERRUPTIBILITY_INFO) & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
	if (busy || masked) {
		/* SDM 26.7.5: exits at the first instruction boundary where RFLAGS.IF = 1 and nothing blocks. */
		set_interrupt_window_exiting(v, true);
		return;
	}
	vlapic_accept_interrupt(&v->lapic, (unsigned)vector);
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD,
		     (unsigned)vector | (INTR_TYPE_EXTERNAL_INTERRUPT << INTR_INFO_TYPE_SHIFT) | INTR_INFO_VALID);
	/* A halted guest wakes to take it: delivery starts from the active state (SDM 27.6.1, 27.7.2 no HLT). */
	if (vmcs_read32(GUEST_ACTIVITY_STATE) == GUEST_ACTIVITY_HLT)
		vmcs_write32(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	v->interrupts_injected++;
	/* Another one waiting behind it is taken when the guest next opens a window. */
	set_interrupt_window_exiting(v, vlapic_pending_vector(&v->lapic) != VLAPIC_NO_VECTOR);
}

void vcpu_inject_gp0(struct vcpu *v) { vcpu_inject_exception(v, VECTOR_GP, true, 0); }
void vcpu_inject_ud(struct vcpu *v) { vcpu_inject_exception(v, VECTOR_UD, false, 0); }

void vcpu_inject_pf(struct vcpu *v, uint64_t cr2, uint32_t error_code)
{
	v->regs.cr2 = cr2;
	vcpu_inject_exception(v, VECTOR_PF, true, error_code);
}

void vcpu_stop(struct vcpu *v, int status)
{
	v->done = true;
	v->status = status;
}

unsigned vcpu_cpl(void)
{
	return VMX_AR_DPL(vmcs_read32(GUEST_SS_AR_BYTES));
}

bool guest_rflags_ac_for_smap(void)
{
	return (vmcs_readnat(GUEST_RFLAGS) & RFLAGS_AC) && vcpu_cpl() < CPL_USER;
}
