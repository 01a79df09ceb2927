; The application processors' way in (see vmm/include/vmm/ap_start.h).
;
; A STARTUP IPI with vector V starts the processor in real mode at CS = V << 8, IP = 0 (SDM Vol. 3A
; 9.4.4.1, 11.6.1).  The bootstrap processor copies this code, with its GDT and parameters, to page
; V and fills the parameters (vmm/platform/ap_start.c).  Every address here is an offset from
; ap_trampoline_start, so the code runs wherever the copy lies; EBX holds the copy's physical
; address from the first instructions on.  Path: real mode -> 32-bit protected mode -> IA-32e mode
; on the boot page tables (below 4 GiB; SDM 10.8.5) -> the monitor's page tables, stack and entry.

%include "asm_offsets.inc"

%define CR0_PE   (1 << 0)
%define CR0_NW   (1 << 29)
%define CR0_CD   (1 << 30)
%define CR0_PG   (1 << 31)
%define CR4_PAE  (1 << 5)
%define MSR_EFER 0xC0000080

; The trampoline's own GDT (its selectors).
%define TR_SEL_CODE64 0x08
%define TR_SEL_DATA   0x10
%define TR_SEL_CODE32 0x18

%define AP_PROGRESS_REAL_MODE 1
%define AP_PROGRESS_LONG_MODE 2

; The offset of a label in the trampoline.
%define TR(label) ((label) - ap_trampoline_start)

section .rodata
align 16
global ap_trampoline_start
ap_trampoline_start:

bits 16
	cli
	cld
	mov ax, cs
	mov ds, ax
	xor ebx, ebx
	mov bx, ax
	shl ebx, 4                                 ; EBX = the copy's physical address
	mov dword [TR(tr_params) + AP_PARAMS_PROGRESS], AP_PROGRESS_REAL_MODE
	o32 lgdt [TR(tr_params) + AP_PARAMS_GDT_LIMIT]
	; After INIT, CR0 has caching disabled (CD = NW = 1, SDM 9.1.1 Table 9-1): enable it.
	mov eax, cr0
	and eax, ~(CR0_CD | CR0_NW)
	or eax, CR0_PE
	mov cr0, eax
	jmp dword far [TR(tr_params) + AP_PARAMS_PM_ENTRY]

bits 32
tr_pm:
	mov ax, TR_SEL_DATA
	mov ds, ax
	mov es, ax
	mov ss, ax
	; IA-32e mode (SDM 10.8.5): CR4.PAE, CR3, IA32_EFER.LME, then CR0.PG.
	mov eax, cr4
	or eax, CR4_PAE
	mov cr4, eax
	mov eax, [ebx + TR(tr_params) + AP_PARAMS_BOOT_CR3]
	mov cr3, eax
	mov ecx, MSR_EFER
	mov eax, [ebx + TR(tr_params) + AP_PARAMS_EFER]
	xor edx, edx
	wrmsr
	mov eax, cr0
	or eax, CR0_PG
	mov cr0, eax
	jmp far [ebx + TR(tr_params) + AP_PARAMS_LM_ENTRY]

bits 64
tr_lm:
	mov ax, TR_SEL_DATA
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov ebx, ebx                               ; the upper half is undefined after the switch (SDM 9.8.5)
	mov dword [rbx + TR(tr_params) + AP_PARAMS_PROGRESS], AP_PROGRESS_LONG_MODE
	mov rax, [rbx + TR(tr_params) + AP_PARAMS_CR3]
	mov cr3, rax                               ; the monitor's page tables (anywhere in memory)
	mov rsp, [rbx + TR(tr_params) + AP_PARAMS_STACK_TOP]
	mov rdi, [rbx + TR(tr_params) + AP_PARAMS_ARG]
	mov rax, [rbx + TR(tr_params) + AP_PARAMS_ENTRY]
	push 0                                     ; no return address: entry never returns
	jmp rax

align 16
tr_gdt:
	dq 0                                       ; null
	dq 0x00af9a000000ffff                      ; 0x08: 64-bit code, DPL 0 (L=1, D=0)
	dq 0x00cf92000000ffff                      ; 0x10: flat data, DPL 0
	dq 0x00cf9a000000ffff                      ; 0x18: flat 32-bit code, DPL 0
tr_gdt_end:

align 16
tr_params:
	times AP_PARAMS_SIZE db 0
global ap_trampoline_end
ap_trampoline_end:

; Where each part lies in the copy (struct ap_trampoline_layout).
align 4
global ap_trampoline_layout
ap_trampoline_layout:
	dd TR(ap_trampoline_end)
	dd TR(tr_gdt)
	dd TR(tr_pm)
	dd TR(tr_lm)
	dd TR(tr_params)
	dd tr_gdt_end - tr_gdt - 1
