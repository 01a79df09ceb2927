/*
 * Decoding a VM exit once (SDM Vol. 3C 28.2) into the neutral record of vmm/vm_exit.h: the kind, and
 * for each kind only the fields it needs (a CPUID exit reads nothing but its instruction length).
 */
#include <arch/debug.h>
#include <arch/vmx_controls.h>
#include <arch/vmx_state.h>
#include "vmm/log.h"
#include "vmcs.h"
#include "vmx_backend.h"

const struct vmx_reason_info vmx_reason_info[EXIT_REASON_MAX] = {
	[EXIT_REASON_EXCEPTION_NMI] = { EXIT_EXCEPTION, READ_QUAL | READ_VECTORING | READ_OPERANDS },
	[EXIT_REASON_EXTERNAL_INTERRUPT] = { EXIT_EXTERNAL_INTERRUPT, READ_VECTORING | READ_OPERANDS },
	[EXIT_REASON_TRIPLE_FAULT] = { EXIT_TRIPLE_FAULT, READ_VECTORING },
	[EXIT_REASON_TASK_SWITCH] = { EXIT_TASK_SWITCH, READ_LEN | READ_QUAL | READ_VECTORING | READ_OPERANDS },
	[EXIT_REASON_CPUID] = { EXIT_CPUID, READ_LEN },
	[EXIT_REASON_HLT] = { EXIT_HLT, READ_LEN },
	[EXIT_REASON_INVD] = { EXIT_CACHE_FLUSH, READ_LEN },
	[EXIT_REASON_WBINVD] = { EXIT_CACHE_FLUSH, READ_LEN },
	[EXIT_REASON_INVLPG] = { EXIT_INVLPG, READ_LEN | READ_QUAL | READ_OPERANDS },
	[EXIT_REASON_RDPMC] = { EXIT_RDPMC, READ_LEN },
	[EXIT_REASON_VMCALL] = { EXIT_HYPERCALL, READ_LEN | READ_MODE | READ_CPL },
	[EXIT_REASON_VMCLEAR] = { EXIT_VIRT_INSTRUCTION, READ_LEN },
	[EXIT_REASON_VMLAUNCH] = { EXIT_VIRT_INSTRUCTION, READ_LEN },
	[EXIT_REASON_VMPTRLD] = { EXIT_VIRT_INSTRUCTION, READ_LEN },
	[EXIT_REASON_VMPTRST] = { EXIT_VIRT_INSTRUCTION, READ_LEN },
	[EXIT_REASON_VMREAD] = { EXIT_VIRT_INSTRUCTION, READ_LEN },
	[EXIT_REASON_VMRESUME] = { EXIT_VIRT_INSTRUCTION, READ_LEN },
	[EXIT_REASON_VMWRITE] = { EXIT_VIRT_INSTRUCTION, READ_LEN },
	[EXIT_REASON_VMXOFF] = { EXIT_VIRT_INSTRUCTION, READ_LEN },
	[EXIT_REASON_VMXON] = { EXIT_VIRT_INSTRUCTION, READ_LEN },
	[EXIT_REASON_INVEPT] = { EXIT_VIRT_INSTRUCTION, READ_LEN },
	[EXIT_REASON_INVVPID] = { EXIT_VIRT_INSTRUCTION, READ_LEN },
	[EXIT_REASON_CR_ACCESS] = { EXIT_CR_ACCESS, READ_LEN | READ_QUAL | READ_MODE },
	[EXIT_REASON_IO_INSTRUCTION] = { EXIT_IO, READ_LEN | READ_QUAL | READ_DR7 | READ_OPERANDS },
	[EXIT_REASON_RDMSR] = { EXIT_RDMSR, READ_LEN | READ_MSR },
	[EXIT_REASON_WRMSR] = { EXIT_WRMSR, READ_LEN | READ_MSR },
	[EXIT_REASON_MWAIT] = { EXIT_MONITOR_MWAIT, READ_LEN },
	[EXIT_REASON_MONITOR] = { EXIT_MONITOR_MWAIT, READ_LEN },
	[EXIT_REASON_GDTR_IDTR_ACCESS] = { EXIT_DESCRIPTOR_TABLE, READ_LEN | READ_QUAL | READ_MODE | READ_CPL | READ_OPERANDS },
	[EXIT_REASON_LDTR_TR_ACCESS] = { EXIT_DESCRIPTOR_TABLE, READ_LEN | READ_QUAL | READ_MODE | READ_CPL | READ_OPERANDS },
	[EXIT_REASON_EPT_VIOLATION] = { EXIT_NESTED_PAGE_FAULT, READ_QUAL | READ_VECTORING | READ_OPERANDS },
	[EXIT_REASON_EPT_MISCONFIG] = { EXIT_NESTED_PAGE_MISCONFIG, READ_VECTORING | READ_OPERANDS },
	[EXIT_REASON_PREEMPTION_TIMER] = { EXIT_TIMER, 0 },
	[EXIT_REASON_INTERRUPT_WINDOW] = { EXIT_INTERRUPT_WINDOW, 0 },
	[EXIT_REASON_NMI_WINDOW] = { EXIT_NMI_WINDOW, 0 },
	[EXIT_REASON_TPR_BELOW_THRESHOLD] = { EXIT_TPR_BELOW_THRESHOLD, 0 },
	[EXIT_REASON_XSETBV] = { EXIT_XSETBV, READ_LEN },
	[EXIT_REASON_MONITOR_TRAP_FLAG] = { EXIT_SINGLE_STEP_TRAP, READ_QUAL },
	[EXIT_REASON_APIC_ACCESS] = { EXIT_UNKNOWN, READ_QUAL | READ_VECTORING },
};

/* EPT-violation qualification (SDM Table 28-7). */
#define EPT_QUAL_READ            (1u << 0)
#define EPT_QUAL_WRITE           (1u << 1)
#define EPT_QUAL_FETCH           (1u << 2)
#define EPT_QUAL_READABLE        (1u << 3)
#define EPT_QUAL_WRITABLE        (1u << 4)
#define EPT_QUAL_EXECUTABLE      (1u << 5)
#define EPT_QUAL_LINEAR_VALID    (1u << 7)
#define EPT_QUAL_LINEAR_IS_FINAL (1u << 8)
/* "NMI unblocking due to IRET": bit 12 of the exit interruption information and of the EPT qualification. */
#define NMI_UNBLOCKING_DUE_TO_IRET (1u << 12)
/* Task-switch qualification (SDM Table 28-2). */
#define TASK_QUAL_SELECTOR(q) ((uint16_t)((q) & 0xffffu))
#define TASK_QUAL_SOURCE(q)   ((uint8_t)(((q) >> 30) & 0x3u))
/* VM-exit instruction information for INS/OUTS (SDM Table 28-8). */
#define IO_II_ADDR_SIZE(i) (((i) >> 7) & 0x7u)
#define IO_II_SEGMENT(i)   (((i) >> 15) & 0x7u)

static struct event event_from_info(uint32_t info)
{
	struct event e = {
		.valid = (info & INTR_INFO_VALID) != 0,
		.type = (uint8_t)INTR_INFO_TYPE(info),
		.vector = (uint8_t)(info & INTR_INFO_VECTOR_MASK),
		.has_error_code = (info & INTR_INFO_DELIVER_ERROR_CODE) != 0,
	};
	return e;
}

static bool soft_event(uint8_t type)
{
	return type == EVENT_SOFT_INTERRUPT || type == EVENT_SOFT_EXCEPTION || type == EVENT_PRIV_SOFT_EXCEPTION;
}

/* With "virtual NMIs", NMI blocking comes back when a faulting IRET will run again (SDM 28.2.2, 27.7.1). */
static void restore_nmi_blocking(struct vcpu *v, bool unblocking)
{
	if (!v->virtual_nmis || !unblocking || v->exit.vectoring.valid)
		return; /* undefined while an event was being delivered */
	vcpu_write(v, VCPU_INTERRUPTIBILITY_INFO, VMX_REG_READ(v, INTERRUPTIBILITY_INFO) | INTERRUPTIBILITY_NMI);
}

static void decode_string_io(struct vcpu *v, struct vm_exit *e)
{
	/* Address size and segment from the instruction information when the CPU gives it (IA32_VMX_BASIC[54]). */
	if (!(v->caps->raw.basic & VMX_BASIC_INS_OUTS_INFO))
		return;
	const uint32_t info = vmcs_read32(VMX_INSTRUCTION_INFO);
	const unsigned size = IO_II_ADDR_SIZE(info);
	e->string_info_valid = size <= 2;
	e->string_addr_bytes = (uint8_t)(2u << size); /* 0: 16-bit, 1: 32-bit, 2: 64-bit */
	e->string_seg = (uint8_t)(e->io.in ? SEG_ES : IO_II_SEGMENT(info));
	if (e->string_seg >= SEG_COUNT)
		e->string_seg = SEG_DS;
}

void vmx_exit_decode_operands(struct vcpu *v, uint32_t reason, unsigned read)
{
	struct vm_exit *e = &v->exit;
	e->vectoring.valid = false;
	if (read & READ_VECTORING) {
		const uint32_t idt = vmcs_read32(IDT_VECTORING_INFO_FIELD);
		if (idt & INTR_INFO_VALID) {
			e->vectoring = event_from_info(idt);
			if (e->vectoring.has_error_code)
				e->vectoring.error_code = vmcs_read32(IDT_VECTORING_ERROR_CODE);
			/* Software events push the address after their instruction (SDM 27.6.1.3, 28.2.4). */
			if (soft_event(e->vectoring.type))
				e->vectoring.insn_len = e->insn_len ? e->insn_len : vmcs_read32(VM_EXIT_INSTRUCTION_LEN);
		}
	}

	switch (e->kind) {
	case EXIT_EXCEPTION: {
		const uint32_t info = vmcs_read32(VM_EXIT_INTR_INFO);
		e->intr.event = event_from_info(info);
		if (e->intr.event.has_error_code)
			e->intr.event.error_code = vmcs_read32(VM_EXIT_INTR_ERROR_CODE);
		e->intr.nmi_unblocking = (info & NMI_UNBLOCKING_DUE_TO_IRET) != 0;
		if (e->intr.event.type == EVENT_NMI)
			e->kind = EXIT_NMI;
		if (e->intr.nmi_unblocking)
			restore_nmi_blocking(v, true);
		(void)VMX_REG_READ(v, RFLAGS); /* shadow paging's #PF walk reads RFLAGS.AC (SMAP) */
		break;
	}
	case EXIT_EXTERNAL_INTERRUPT:
		e->intr.event = event_from_info(vmcs_read32(VM_EXIT_INTR_INFO));
		break;
	case EXIT_IO:
		if (e->io.string)
			decode_string_io(v, e);
		break;
	case EXIT_DESCRIPTOR_TABLE:
		e->dt.ldtr_tr = reason == EXIT_REASON_LDTR_TR_ACCESS;
		e->dt.info = vmcs_read32(VMX_INSTRUCTION_INFO);
		e->dt.displacement = e->qualification; /* SDM Table 28-1: descriptor-table exits */
		if (!exit_decode_dt_info(e->dt.info, e->dt.ldtr_tr, &e->dt.op))
			e->kind = EXIT_UNDECODABLE, e->undecodable = "descriptor-table exit: the instruction information uses an encoding the SDM "
					 "does not define (Tables 28-10, 28-11)";
		break;
	case EXIT_NESTED_PAGE_FAULT: {
		const uint64_t q = e->qualification;
		e->npf.gpa = vmcs_read64(GUEST_PHYSICAL_ADDRESS);
		e->npf.read = (q & EPT_QUAL_READ) != 0;
		e->npf.write = (q & EPT_QUAL_WRITE) != 0;
		e->npf.fetch = (q & EPT_QUAL_FETCH) != 0;
		e->npf.readable = (q & EPT_QUAL_READABLE) != 0;
		e->npf.writable = (q & EPT_QUAL_WRITABLE) != 0;
		e->npf.executable = (q & EPT_QUAL_EXECUTABLE) != 0;
		e->npf.gla_valid = (q & EPT_QUAL_LINEAR_VALID) != 0;
		e->npf.gla_is_final = e->npf.gla_valid && (q & EPT_QUAL_LINEAR_IS_FINAL);
		e->npf.gla = e->npf.gla_valid ? vmcs_readnat(GUEST_LINEAR_ADDRESS) : 0;
		e->npf.nmi_unblocking = (q & NMI_UNBLOCKING_DUE_TO_IRET) != 0;
		if (e->npf.nmi_unblocking)
			restore_nmi_blocking(v, true);
		break;
	}
	case EXIT_NESTED_PAGE_MISCONFIG:
		e->npf.gpa = vmcs_read64(GUEST_PHYSICAL_ADDRESS);
		break;
	case EXIT_TASK_SWITCH:
		e->task.selector = TASK_QUAL_SELECTOR(e->qualification);
		e->task.source = TASK_QUAL_SOURCE(e->qualification);
		break;
	case EXIT_INVLPG:
		e->linear = e->qualification; /* SDM Table 28-1 */
		break;
	default:
		break;
	}
	/* The interrupted event is delivered again (SDM 27.6), unless the exit is its delivery through a task gate. */
	if (e->vectoring.valid && e->kind != EXIT_TASK_SWITCH)
		vcpu_requeue_event(v, &e->vectoring);
}
