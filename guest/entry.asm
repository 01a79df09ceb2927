; Kernel entry and exit paths in long mode: exception stubs, the SYSCALL
; entry, the context switch, the first entry of a process into ring 3, and
; the fault-tolerant copy between kernel and user memory.
bits 64
default rel

; Exceptions that push an error code (SDM Vol. 3A 6.15, Table 6-1 / 6.13).
%define EXCEPTION_VECTORS 32
%define IDT_VECTORS 256
%macro ISR_NOERR 1
isr_%1:
	push 0
	push %1
	jmp trap_common
%endmacro
%macro ISR_ERR 1
isr_%1:
	push %1
	jmp trap_common
%endmacro

extern trap_dispatch, syscall_dispatch

section .text
ISR_NOERR 0
ISR_NOERR 1
ISR_NOERR 2
ISR_NOERR 3
ISR_NOERR 4
ISR_NOERR 5
ISR_NOERR 6
ISR_NOERR 7
ISR_ERR   8
ISR_NOERR 9
ISR_ERR   10
ISR_ERR   11
ISR_ERR   12
ISR_ERR   13
ISR_ERR   14
ISR_NOERR 15
ISR_NOERR 16
ISR_ERR   17
ISR_NOERR 18
ISR_NOERR 19
ISR_NOERR 20
ISR_ERR   21
ISR_NOERR 22
ISR_NOERR 23
ISR_NOERR 24
ISR_NOERR 25
ISR_NOERR 26
ISR_NOERR 27
ISR_NOERR 28
ISR_ERR   29
ISR_ERR   30
ISR_NOERR 31
; Interrupts (vectors 32-255): no error code (SDM Vol. 3A 6.3).
%assign i EXCEPTION_VECTORS
%rep IDT_VECTORS - EXCEPTION_VECTORS
ISR_NOERR i
%assign i i + 1
%endrep

; Builds struct trap_frame (guest/include/guest/trap.h) above the CPU's frame.
; From ring 3 the GS base is the program's: SWAPGS first, and again just before
; the IRETQ back to ring 3 (guest/include/guest/percpu.h).  The CS of the
; interrupted code is at [rsp + 24] on entry (vector, error code, RIP, CS) and
; at [rsp + 8] before the IRETQ (RIP, CS).
%define TF_ENTRY_CS 24
%define TF_IRET_CS  8
%define RPL_MASK    3
trap_common:
	test byte [rsp + TF_ENTRY_CS], RPL_MASK
	jz .from_kernel
	swapgs
.from_kernel:
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
	cld
	mov rdi, rsp
	call trap_dispatch
	pop r15
	pop r14
	pop r13
	pop r12
	pop r11
	pop r10
	pop r9
	pop r8
	pop rbp
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rbx
	pop rax
	add rsp, 16                 ; vector, error code
	test byte [rsp + TF_IRET_CS], RPL_MASK
	jz .to_kernel
	swapgs
.to_kernel:
	iretq

; SYSCALL: RCX = user RIP, R11 = user RFLAGS, RFLAGS masked by IA32_FMASK,
; CS/SS from IA32_STAR; RSP is still the user's, and so is the GS base (SDM
; Vol. 2B, SYSCALL).  SWAPGS brings this CPU's struct cpu; its slots hold the
; stack to switch to (the running process's kernel stack) and, for the two
; instructions until it is pushed, the user's RSP.  FMASK clears IF, so no
; interrupt comes in between on this CPU.
; Builds struct syscall_frame (guest/syscall.c) on the process's kernel stack.
%define CPU_OFF_SYSCALL_RSP 40      ; guest/include/guest/percpu.h
%define CPU_OFF_USER_RSP    48
global syscall_entry
syscall_entry:
	swapgs
	mov [gs:CPU_OFF_USER_RSP], rsp
	mov rsp, [gs:CPU_OFF_SYSCALL_RSP]
	push qword [gs:CPU_OFF_USER_RSP]
	push r11
	push rcx
	push rax
	push rdi
	push rsi
	push rdx
	push r10
	push r8
	push r9
	push rbx
	push rbp
	push r12
	push r13
	push r14
	push r15
	cld
	mov rdi, rsp
	call syscall_dispatch       ; RAX = result
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbp
	pop rbx
	pop r9                      ; the user's argument registers come back
	pop r8                      ; unchanged: nothing of the kernel leaks
	pop r10
	pop rdx
	pop rsi
	pop rdi
	add rsp, 8                  ; the call number
	pop rcx
	pop r11
	pop rsp
	swapgs                      ; the program's GS base again
	o64 sysret

; void context_switch(uint64_t *save_rsp, uint64_t new_rsp): the SysV
; callee-saved registers stay on the old stack.
global context_switch
context_switch:
	push rbp
	push rbx
	push r12
	push r13
	push r14
	push r15
	mov [rdi], rsp
	mov rsp, rsi
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret

; A new process's kernel stack "returns" here from context_switch with
; arg0, arg1 and an IRET frame for ring 3 above (guest/proc.c builds it).
global enter_user_first
enter_user_first:
	pop rdi
	pop rsi
	xor eax, eax
	xor ebx, ebx
	xor ecx, ecx
	xor edx, edx
	xor ebp, ebp
	xor r8d, r8d
	xor r9d, r9d
	xor r10d, r10d
	xor r11d, r11d
	xor r12d, r12d
	xor r13d, r13d
	xor r14d, r14d
	xor r15d, r15d
	swapgs                      ; to ring 3: the user GS base (IA32_KERNEL_GS_BASE's, 0 from reset)
	iretq

; int user_copy(void *dst, const void *src, uint64_t n): 0, or -1 when a
; page fault could not be resolved (the exception table resumes at .fault).
global user_copy
user_copy:
	mov rcx, rdx
.copy:
	rep movsb
	xor eax, eax
	ret
.fault:
	mov eax, -1
	ret

section .ex_table progbits alloc noexec nowrite align=8
	dq user_copy.copy, user_copy.fault

section .rodata
global isr_table
align 8
isr_table:
%assign i 0
%rep IDT_VECTORS
	dq isr_ %+ i
%assign i i + 1
%endrep
