; Exception entry stubs for the monitor's IDT: push a uniform frame
; (struct exception_frame in vmm/include/vmm/cpu.h) and call hv_exception.
bits 64
section .text

extern hv_exception

%macro ISR_NOERR 1
isr_stub_%1:
	push 0          ; no error code: keep the frame uniform
	push %1
	jmp isr_common
%endmacro

%macro ISR_ERR 1
isr_stub_%1:
	push %1         ; the CPU pushed the error code
	jmp isr_common
%endmacro

; Vectors with an error code (SDM Vol. 3A Table 6-1): 8, 10-14, 17, 21, 29, 30.
%assign v 0
%rep 32
%if v == 8 || (v >= 10 && v <= 14) || v == 17 || v == 21 || v == 29 || v == 30
	ISR_ERR v
%else
	ISR_NOERR v
%endif
%assign v v + 1
%endrep

isr_common:
	push rax
	push rbx
	push rcx
	push rdx
	push rsi
	push rdi
	push rbp
	push r8
	push r9
	push r10
	push r11
	push r12
	push r13
	push r14
	push r15
	mov rdi, rsp
	and rsp, -16
	call hv_exception   ; does not return
.hang:
	cli
	hlt
	jmp .hang

section .data.rel.ro progbits alloc noexec write align=8  ; addresses: relocated at entry (linker.ld)
global isr_stub_table
isr_stub_table:
%assign v 0
%rep 32
	dq isr_stub_ %+ v
%assign v v + 1
%endrep

; The monitor's kick between CPUs (HOST_KICK_VECTOR, vmm/include/vmm/host_apic.h), taken only while a
; CPU waits in the monitor with interrupts on: save what C may clobber, EOI, return to the wait.
extern host_kick_interrupt
global host_kick_isr
host_kick_isr:
	push rax                ; 9 pushes after the CPU's 5: RSP is 16-byte aligned at the call
	push rcx
	push rdx
	push rsi
	push rdi
	push r8
	push r9
	push r10
	push r11
	cld
	call host_kick_interrupt
	pop r11
	pop r10
	pop r9
	pop r8
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rax
	iretq
