/*
 * The constants the assembly uses, generated from the C definitions at build time (Makefile:
 * $(BUILD)/gen/asm_offsets.inc, included by vmm/vmx/vmx_entry.asm), so that a structure change or
 * a VMCS encoding can never drift from a copy by hand.  Compiled to assembly only (-S): each
 * ASM_DEFINE leaves a "%define NAME value" line that the Makefile extracts.
 */
#include <stddef.h>
#include <arch/vmcs_fields.h>
#include <arch/vmx.h>
#include "vmm/ap_start.h"
#include "vmm/pcpu.h"
#include "vmm/vcpu.h"

#define ASM_DEFINE(name, value) __asm__ volatile("\n.ascii \"@@ %%define " #name " %c0\"" : : "i"(value))

void asm_offsets(void);
void asm_offsets(void)
{
	/* struct guest_regs (vmm/vcpu.h), saved and loaded around VM entry. */
	ASM_DEFINE(R_RAX, offsetof(struct guest_regs, rax));
	ASM_DEFINE(R_RBX, offsetof(struct guest_regs, rbx));
	ASM_DEFINE(R_RCX, offsetof(struct guest_regs, rcx));
	ASM_DEFINE(R_RDX, offsetof(struct guest_regs, rdx));
	ASM_DEFINE(R_RSI, offsetof(struct guest_regs, rsi));
	ASM_DEFINE(R_RDI, offsetof(struct guest_regs, rdi));
	ASM_DEFINE(R_RBP, offsetof(struct guest_regs, rbp));
	ASM_DEFINE(R_R8, offsetof(struct guest_regs, r8));
	ASM_DEFINE(R_R9, offsetof(struct guest_regs, r9));
	ASM_DEFINE(R_R10, offsetof(struct guest_regs, r10));
	ASM_DEFINE(R_R11, offsetof(struct guest_regs, r11));
	ASM_DEFINE(R_R12, offsetof(struct guest_regs, r12));
	ASM_DEFINE(R_R13, offsetof(struct guest_regs, r13));
	ASM_DEFINE(R_R14, offsetof(struct guest_regs, r14));
	ASM_DEFINE(R_R15, offsetof(struct guest_regs, r15));
	ASM_DEFINE(R_CR2, offsetof(struct guest_regs, cr2));
	/* struct pcpu (vmm/pcpu.h), reached through GS. */
	ASM_DEFINE(PCPU_HOST_RSP, offsetof(struct pcpu, host_rsp));
	/* struct ap_trampoline_params (vmm/ap_start.h), read by vmm/platform/ap_trampoline.asm. */
	ASM_DEFINE(AP_PARAMS_GDT_LIMIT, offsetof(struct ap_trampoline_params, gdt_limit));
	ASM_DEFINE(AP_PARAMS_PM_ENTRY, offsetof(struct ap_trampoline_params, pm_entry));
	ASM_DEFINE(AP_PARAMS_LM_ENTRY, offsetof(struct ap_trampoline_params, lm_entry));
	ASM_DEFINE(AP_PARAMS_BOOT_CR3, offsetof(struct ap_trampoline_params, boot_cr3));
	ASM_DEFINE(AP_PARAMS_EFER, offsetof(struct ap_trampoline_params, efer));
	ASM_DEFINE(AP_PARAMS_PROGRESS, offsetof(struct ap_trampoline_params, progress));
	ASM_DEFINE(AP_PARAMS_CR3, offsetof(struct ap_trampoline_params, cr3));
	ASM_DEFINE(AP_PARAMS_STACK_TOP, offsetof(struct ap_trampoline_params, stack_top));
	ASM_DEFINE(AP_PARAMS_ARG, offsetof(struct ap_trampoline_params, arg));
	ASM_DEFINE(AP_PARAMS_ENTRY, offsetof(struct ap_trampoline_params, entry));
	ASM_DEFINE(AP_PARAMS_SIZE, sizeof(struct ap_trampoline_params));
	/* VMCS encodings (arch/vmcs_fields.h) and VMX instruction results (arch/vmx.h). */
	ASM_DEFINE(VMCS_HOST_RSP, HOST_RSP);
	ASM_DEFINE(VMX_FAIL_INVALID, VMX_FAIL_INVALID);
	ASM_DEFINE(VMX_FAIL_VALID, VMX_FAIL_VALID);
}
