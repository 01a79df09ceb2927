; VM entry and VM exit (SDM Vol. 3C 27 "VM entries", 28 "VM exits").
;
; int vmx_enter_guest(struct guest_regs *regs /* rdi */, int launched /* esi */)
;   Saves the monitor's callee-saved registers, records RSP in HOST_RSP, loads
;   the guest's GPRs and CR2 and executes VMRESUME (launched) or VMLAUNCH.
;   If the instruction fails it returns VMX_FAIL_INVALID (1) or VMX_FAIL_VALID (2).
;   After a VM exit the CPU continues at vmx_exit_entry (HOST_RIP) on HOST_RSP,
;   which stores the guest's GPRs and CR2 back and returns 0 from this call.
bits 64
section .text

; VMCS_HOST_RSP, PCPU_HOST_RSP, VMX_FAIL_* and the struct guest_regs offsets R_*: generated
; from the C definitions at build time (vmm/gen/asm_offsets.c, Makefile).
%include "asm_offsets.inc"

global vmx_enter_guest
global vmx_exit_entry
vmx_enter_guest:
	push rbp
	push rbx
	push r12
	push r13
	push r14
	push r15
	push rdi                ; regs pointer, found again at [rsp] after the exit
	; HOST_RSP only changes if the caller's stack depth does: skip the VMWRITE otherwise.
	cmp rsp, [gs:PCPU_HOST_RSP]   ; this CPU's struct pcpu (vmm/pcpu.h)
	je .host_rsp_current
	mov rax, VMCS_HOST_RSP
	vmwrite rax, rsp
	jbe .vmwrite_failed      ; CF or ZF set: the VMCS is not usable
	mov [gs:PCPU_HOST_RSP], rsp
.host_rsp_current:
	; MOV to CR2 serializes: only when the guest's CR2 differs from the live one.
	mov rax, [rdi + R_CR2]
	mov rdx, cr2
	cmp rax, rdx
	je .cr2_current
	mov cr2, rax
.cr2_current:
	test esi, esi
	mov rax, [rdi + R_RAX]
	mov rbx, [rdi + R_RBX]
	mov rcx, [rdi + R_RCX]
	mov rdx, [rdi + R_RDX]
	mov rsi, [rdi + R_RSI]
	mov rbp, [rdi + R_RBP]
	mov r8,  [rdi + R_R8]
	mov r9,  [rdi + R_R9]
	mov r10, [rdi + R_R10]
	mov r11, [rdi + R_R11]
	mov r12, [rdi + R_R12]
	mov r13, [rdi + R_R13]
	mov r14, [rdi + R_R14]
	mov r15, [rdi + R_R15]
	mov rdi, [rdi + R_RDI]   ; last: rdi was the base (mov does not change ZF from 'test' above)
	jnz .resume
	vmlaunch
	jmp .entry_failed
.resume:
	vmresume
.entry_failed:
	; Fell through: the VM entry instruction failed (SDM 31.2). Flags say how.
	mov eax, VMX_FAIL_INVALID
	mov edx, VMX_FAIL_VALID
	cmovz eax, edx
	jmp vmx_enter_return
.vmwrite_failed:
	mov eax, VMX_FAIL_INVALID
	mov edx, VMX_FAIL_VALID
	cmovz eax, edx
vmx_enter_return:
	pop rdi
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret

section .text
vmx_exit_entry:
	; RSP = HOST_RSP, i.e. [rsp] is the regs pointer pushed above.
	push rdi
	mov rdi, [rsp + 8]
	mov [rdi + R_RAX], rax
	mov [rdi + R_RBX], rbx
	mov [rdi + R_RCX], rcx
	mov [rdi + R_RDX], rdx
	mov [rdi + R_RSI], rsi
	mov [rdi + R_RBP], rbp
	mov [rdi + R_R8],  r8
	mov [rdi + R_R9],  r9
	mov [rdi + R_R10], r10
	mov [rdi + R_R11], r11
	mov [rdi + R_R12], r12
	mov [rdi + R_R13], r13
	mov [rdi + R_R14], r14
	mov [rdi + R_R15], r15
	pop rax                  ; the guest's rdi
	mov [rdi + R_RDI], rax
	mov rax, cr2
	mov [rdi + R_CR2], rax
	xor eax, eax             ; 0: a VM exit happened
	jmp vmx_enter_return
