/* vCPU helpers shared by the exit handlers: registers, RIP, exceptions, privilege level (no VMCS here). */
#include <arch/cr.h>
#include <arch/debug.h>
#include <arch/msr.h>
#include <arch/segment.h>
#include <arch/vmx_state.h>
#include "vmm/dr_match.h"
#include "vmm/events.h"
#include "vmm/log.h"
#include "vmm/mmu_ops.h"
#include "vmm/vcpu.h"

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
	return slot ? *slot : vcpu_read(v, VCPU_RSP);
}

void vcpu_gpr_write(struct vcpu *v, unsigned gpr, uint64_t value)
{
	uint64_t *slot = gpr_slot(v, gpr);
	if (slot)
		*slot = value;
	else
		vcpu_write(v, VCPU_RSP, value);
}

/*
 * The emulated instruction is done, as if the CPU had executed it (SDM Vol. 3B 18.3.1): it clears RF
 * (18.3.1.1), ends blocking by STI and by MOV SS (Vol. 3C 25.4.2), and its trap-class debug
 * exceptions (data and I/O breakpoints noted by the handler, single step with TF) become pending
 * debug exceptions, delivered by the CPU right after VM entry (Vol. 3C 27.7.3).  The field keeps
 * what the exit saved there (a MOV SS's deferred breakpoints, for instance).  The common case is
 * inline (vcpu_skip_instruction, vmm/vcpu.h).
 */
void vcpu_complete_instruction(struct vcpu *v, unsigned len)
{
	const uint64_t rflags = vcpu_read(v, VCPU_RFLAGS);
	const uint32_t blocking = (uint32_t)vcpu_read(v, VCPU_INTERRUPTIBILITY_INFO);
	uint64_t pending = v->pending_dbg;

	vcpu_write(v, VCPU_RIP, vcpu_read(v, VCPU_RIP) + len);
	if (rflags & RFLAGS_RF)
		vcpu_write(v, VCPU_RFLAGS, rflags & ~RFLAGS_RF);
	if (blocking & (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS))
		vcpu_write(v, VCPU_INTERRUPTIBILITY_INFO, blocking & ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
	/* TF traps after each instruction, unless IA32_DEBUGCTL.BTF limits it to branches (SDM Vol. 3B 18.4.3). */
	if ((rflags & RFLAGS_TF) && !(vcpu_read(v, VCPU_IA32_DEBUGCTL) & DEBUGCTL_BTF))
		pending |= PENDING_DBG_BS;
	if (pending)
		vcpu_write(v, VCPU_PENDING_DBG_EXCEPTIONS, vcpu_read(v, VCPU_PENDING_DBG_EXCEPTIONS) | pending);
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
	const uint64_t dr7 = vcpu_read(v, VCPU_DR7);
	if (!dr7_any_enabled(dr7))
		return;
	guest_breakpoint_addresses(dr);
	v->pending_dbg |= dr_match_data(dr, dr7, gva, len, write);
}

void vcpu_note_io_access(struct vcpu *v, uint16_t port, unsigned size)
{
	uint64_t dr[DR_BREAKPOINTS];
	const uint64_t dr7 = vcpu_read(v, VCPU_DR7);
	if (!dr7_any_enabled(dr7))
		return;
	guest_breakpoint_addresses(dr);
	v->pending_dbg |= dr_match_io(dr, dr7, (v->guest_cr4 & CR4_DE) != 0, port, size);
}

void vcpu_inject_exception(struct vcpu *v, unsigned vector, bool has_error_code, uint32_t error_code)
{
	struct event *queued = &v->events.exception;
	v->pending_dbg = 0; /* the instruction faults: its breakpoints never trigger */
	/* An unrestricted guest in real mode (CR0.PE=0) gets no error code (SDM 27.2.1.3). */
	if (v->mmu->guest_real_mode && !(vcpu_read(v, VCPU_CR0) & CR0_PE))
		has_error_code = false;
	struct event e = event_exception(vector, has_error_code, error_code);
	/* Nothing queued (the common case): nothing to combine with. */
	switch (queued->valid ? event_merge(queued, &e) : MERGE_SERIAL) {
	case MERGE_DOUBLE_FAULT:
		log_debug("%s while delivering %s: double fault", exception_name(vector), exception_name(queued->vector));
		e = event_exception(VECTOR_DF, (vcpu_read(v, VCPU_CR0) & CR0_PE) != 0, 0);
		break;
	case MERGE_TRIPLE_FAULT:
		v->events.requests |= VCPU_REQ_TRIPLE_FAULT;
		e.valid = false;
		break;
	case MERGE_SERIAL:
		break;
	}
	*queued = e;
	v->events.queued = true;
}

void vcpu_requeue_event(struct vcpu *v, const struct event *e)
{
	v->events.queued = true;
	switch (e->type) {
	case EVENT_NMI:
		v->events.nmi_redeliver = true;
		break;
	case EVENT_EXTERNAL_INTERRUPT:
		v->events.interrupt = *e;
		break;
	default: /* hardware and software exceptions, INT n */
		v->events.exception = *e;
		break;
	}
}

void vcpu_inject_gp0(struct vcpu *v) { vcpu_inject_exception(v, VECTOR_GP, true, 0); }
void vcpu_inject_ud(struct vcpu *v) { vcpu_inject_exception(v, VECTOR_UD, false, 0); }

void vcpu_inject_pf(struct vcpu *v, uint64_t cr2, uint32_t error_code)
{
	/* CR2 is the #PF's even when it becomes a #DF (SDM Vol. 3A 6.15, Interrupt 14). */
	v->regs.cr2 = cr2;
	vcpu_inject_exception(v, VECTOR_PF, true, error_code);
}

bool guest_rflags_ac_for_smap(struct vcpu *v)
{
	return (vcpu_read(v, VCPU_RFLAGS) & RFLAGS_AC) && vcpu_cpl(v) < CPL_USER;
}

_Static_assert(VCPU_SKIP_RFLAGS_SLOW == (RFLAGS_RF | RFLAGS_TF), "vcpu_skip_instruction's RFLAGS bits");
_Static_assert(VCPU_SKIP_BLOCKING_SLOW == (INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS),
	       "vcpu_skip_instruction's blocking bits");
_Static_assert(VCPU_AR_L == VMX_AR_L && VCPU_AR_DPL_SHIFT == VMX_AR_DPL_SHIFT && VCPU_EFER_LMA == EFER_LMA,
	       "vcpu_long64 and vcpu_cpl use the architectural bits");
