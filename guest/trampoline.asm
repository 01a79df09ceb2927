; The application processors' way in (guest/smp.c copies it to a free page below 1 MiB).
;
; A STARTUP IPI with vector V starts an AP in real mode at CS:IP = (V << 8):0, i.e. at the
; first byte of page V (SDM Vol. 3A 9.4.4, 11.6.1).  From there, as the bootstrap processor
; went (SDM Vol. 3A 10.9.1 "Switching to protected mode", 10.8.5 "Initializing IA-32e mode"):
;   real mode:  count this start (P_STARTS), LGDT (the small GDT of the parameter block), CR0.PE, far JMP to 32-bit code
;   32-bit:     data segments, CR4 (PAE and the BSP's other bits), CR3 (the kernel's page
;               tables), EFER (LME, NXE, SCE as the BSP has them), CR0 (PG and the BSP's bits),
;               far JMP to 64-bit code
;   64-bit:     take this start's struct cpu (XCHG with 0: a late AP, sent INIT and left out,
;               finds 0 and halts), its stack, then ap_entry64 in the kernel image
; The code only ever addresses the page through EBX = its linear address (from CS), so it runs
; on whichever page the BSP chose.  The parameter block at TRAMP_PARAMS is filled by the BSP
; (struct ap_tramp_params in guest/smp.c: the offsets below must match it).
;
; Exits under the monitor (guest/smp.c's ap_main adds them to the AP's ledger): LGDT (with
; descriptor-table exiting), MOV CR0 twice, MOV CR4, WRMSR EFER, and MOV CR3 in shadow mode.

%define TRAMP_PARAMS      0xf00
%define P_GDTR            (TRAMP_PARAMS + 0x00)  ; limit (2), base (4)
%define P_PM32            (TRAMP_PARAMS + 0x08)  ; far pointer: offset (4), selector (2)
%define P_LM64            (TRAMP_PARAMS + 0x10)  ; far pointer: offset (4), selector (2)
%define P_CR0             (TRAMP_PARAMS + 0x18)
%define P_CR4             (TRAMP_PARAMS + 0x1c)
%define P_CR3             (TRAMP_PARAMS + 0x20)
%define P_EFER            (TRAMP_PARAMS + 0x24)
%define P_ENTRY           (TRAMP_PARAMS + 0x28)  ; ap_entry64
%define P_CPU             (TRAMP_PARAMS + 0x30)  ; struct cpu * of the AP being started, 0 when none
%define P_STARTS          (TRAMP_PARAMS + 0x58)  ; processors that ran the trampoline (after the GDT)

%define CR0_PE            1
%define MSR_EFER          0xc0000080
%define MSR_GS_BASE       0xc0000101
%define SEL_TRAMP_DATA    0x10                   ; the parameter block's GDT: 0x08 64-bit code,
                                                 ; 0x10 data, 0x18 32-bit code
%define CPU_OFF_STACK_TOP 24                     ; struct cpu (guest/include/guest/percpu.h)

extern ap_main

section .rodata
align 16
global ap_trampoline, ap_trampoline_pm32, ap_trampoline_lm64, ap_trampoline_end
bits 16
ap_trampoline:
	cli
	cld
	mov ax, cs
	mov ds, ax
	xor ebx, ebx
	mov bx, ax
	shl ebx, 4                  ; EBX: the page's linear address, from here to the end
	lock inc dword [P_STARTS]   ; one more processor ran it (the tests count restarts, and phantoms)
	o32 lgdt [P_GDTR]           ; a 32-bit base (without o32, LGDT would take 24 bits)
	mov eax, cr0
	or eax, CR0_PE
	mov cr0, eax
	jmp dword far [P_PM32]

bits 32
ap_trampoline_pm32:
	mov ax, SEL_TRAMP_DATA
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov eax, [ebx + P_CR4]
	mov cr4, eax
	mov eax, [ebx + P_CR3]
	mov cr3, eax
	mov ecx, MSR_EFER
	mov eax, [ebx + P_EFER]
	xor edx, edx
	wrmsr
	mov eax, [ebx + P_CR0]
	mov cr0, eax                ; paging on: EFER.LMA = 1, compatibility mode
	jmp far [ebx + P_LM64]

bits 64
ap_trampoline_lm64:
	mov ebx, ebx                ; the upper halves are undefined after the mode switch
	xor eax, eax
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax                  ; before the GS base is written: a selector load would reset it
	mov ax, SEL_TRAMP_DATA
	mov ss, ax
	xor edi, edi
	xchg rdi, [rbx + P_CPU]     ; implicitly locked
	test rdi, rdi
	jz .unclaimed
	mov rsp, [rdi + CPU_OFF_STACK_TOP]
	mov rax, [rbx + P_ENTRY]
	jmp rax
.unclaimed:
	cli
	hlt
	jmp .unclaimed
ap_trampoline_end:

; RDI = this AP's struct cpu, RSP = its stack (16-byte aligned), kernel page tables, the
; parameter block's GDT.  The GS base comes first: every C function may use this_cpu().
section .text
global ap_entry64
ap_entry64:
	mov rax, rdi
	mov rdx, rdi
	shr rdx, 32
	mov ecx, MSR_GS_BASE        ; passed through by the monitor: no exit
	wrmsr
	xor ebp, ebp
	call ap_main                ; never returns
.hang:
	cli
	hlt
	jmp .hang
