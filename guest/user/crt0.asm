; User program entry: the kernel starts a program in ring 3 at _start with
; RDI = arg0, RSI = arg1 and RSP = the top of its stack (16-byte aligned).
bits 64
default rel
%define SYS_EXIT 3 ; guest/include/guest/abi.h

extern umain
section .text
global _start
_start:
	xor ebp, ebp
	call umain              ; int64_t umain(uint64_t arg0, uint64_t arg1)
	mov rdi, rax
	mov eax, SYS_EXIT
	syscall
	ud2                     ; SYS_EXIT does not return
