; Guest kernel entry.
;
; A Multiboot2 loader (GRUB, or the monitor acting as one) leaves us in 32-bit
; protected mode with paging off, EAX = the Multiboot2 magic, EBX = the
; physical address of the boot information, no usable GDT/IDT and no stack
; (Multiboot2 specification 1.0, 3.3 "I386 machine state").  This file does
; the steps that must happen before C can run in long mode:
;   LGDT (our own GDT)  -> exit GDTR_IDTR_ACCESS
;   MOV CR0 (caches on, only if GRUB left them off) -> exit CR_ACCESS
;   CPUID (long mode?)  -> exit CPUID
;   MOV CR4.PAE         -> exit CR_ACCESS
;   MOV CR3             -> exit only in shadow-paging mode
;   RDMSR/WRMSR EFER.LME -> exits RDMSR, WRMSR
;   MOV CR0.PG          -> exit CR_ACCESS
;   far JMP to 64-bit code (SDM Vol. 3A 10.8.5 "Initializing IA-32e mode").
; Each exit is also counted in exit_ledger (guest/include/guest/priv.h).

%define MB2_HEADER_MAGIC      0xE85250D6   ; Multiboot2 spec 3.1.1
%define MB2_ARCH_I386         0
%define MB2_TAG_END           0
%define MB2_TAG_ENTRY_ADDRESS 3            ; Multiboot2 spec 3.1.6
%define MB2_TAG_FLAG_OPTIONAL 1

%define CR0_PE   (1 << 0)                  ; SDM Vol. 3A 2.5
%define CR0_NW   (1 << 29)
%define CR0_CD   (1 << 30)
%define CR0_PG   (1 << 31)
%define CR4_PAE  (1 << 5)
%define MSR_EFER 0xC0000080                ; SDM Vol. 4 2.1
%define EFER_LME (1 << 8)
%define CPUID_EXT_MAX       0x80000000
%define CPUID_EXT_FEATURES  0x80000001
%define CPUID_EDX_LM        (1 << 29)

%define PTE_P    (1 << 0)                  ; SDM Vol. 3A 4.5, Table 4-17 .. 4-19
%define PTE_W    (1 << 1)
%define PTE_PS   (1 << 7)
%define PAGE_SIZE 4096
%define PAGE_2M   0x200000
%define PT_ENTRIES 512
%define BOOT_MAP_GIB 4                     ; boot tables: identity map of the low 4 GiB

%define BOOT_STACK_SIZE 0x4000

; Must match guest/include/guest/layout.h.
%define SEL_KERNEL_CODE 0x08
%define SEL_KERNEL_DATA 0x10

; Basic exit reasons (SDM Vol. 3C Appendix C), for the exit ledger.
%define EXIT_REASON_CPUID             10
%define EXIT_REASON_CR_ACCESS         28
%define EXIT_REASON_RDMSR             31
%define EXIT_REASON_WRMSR             32
%define LEDGER_SLOT 8
%macro LEDGER 1
	inc dword [exit_ledger + %1 * LEDGER_SLOT]
%endmacro

%define COM1 0x3f8

%define MSR_GS_BASE 0xc0000101             ; passed through by the monitor: no exit

extern task32_requested, task32_test, exit_ledger, boot_cr3_writes, boot_lgdt_count, gdt_ptr, kernel_main, guest_bss_start, guest_bss_end
extern cpu_boot

section .multiboot2 progbits alloc noexec nowrite
align 8
mb2_header:
	dd MB2_HEADER_MAGIC
	dd MB2_ARCH_I386
	dd mb2_header_end - mb2_header
	dd 0x100000000 - (MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
align 8
	dw MB2_TAG_ENTRY_ADDRESS, 0
	dd 12
	dd guest_start32
align 8
	dw MB2_TAG_END, 0
	dd 8
mb2_header_end:

bits 32
section .text32 progbits alloc exec nowrite
global guest_start32
guest_start32:
	cli
	cld
	mov ebp, eax                ; keep the magic and the boot information
	mov esi, ebx                ; (CPUID below clobbers EAX..EDX)
	lgdt [gdt_ptr]              ; 32-bit LGDT: limit and the low 32 bits of the base
	mov ax, SEL_KERNEL_DATA
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax

	; Zero .bss (the stack and page tables live there) before anything uses it.
	mov edi, guest_bss_start
	mov ecx, guest_bss_end
	sub ecx, edi
	xor eax, eax
	rep stosb
	inc dword [boot_lgdt_count]  ; an exit only with descriptor-table exiting: kernel_main decides
	mov esp, boot_stack_top

	; guest.test=task_switch: 32-bit hardware task switches, before long mode (task32.asm).
	call task32_requested       ; ESI: the boot information
	test eax, eax
	jnz task32_test

	; GRUB may leave the caches disabled (CR0.CD/NW): turn them on.
	mov eax, cr0
	test eax, CR0_CD | CR0_NW
	jz .caches_on
	and eax, ~(CR0_CD | CR0_NW)
	mov cr0, eax
	LEDGER EXIT_REASON_CR_ACCESS
.caches_on:

	; Long mode is required (CPUID.80000001h:EDX.LM[29], SDM Vol. 2A CPUID).
	mov eax, CPUID_EXT_MAX
	cpuid
	LEDGER EXIT_REASON_CPUID
	cmp eax, CPUID_EXT_FEATURES
	jb .no_long_mode
	mov eax, CPUID_EXT_FEATURES
	cpuid
	LEDGER EXIT_REASON_CPUID
	test edx, CPUID_EDX_LM
	jz .no_long_mode

	; Boot page tables: PML4[0] -> PDPT -> BOOT_MAP_GIB page directories of
	; 2 MiB pages, the identity map of the low 4 GiB (enough to reach the
	; image and the boot information wherever the loader put it).
	mov eax, boot_pdpt + (PTE_P | PTE_W)
	mov [boot_pml4], eax
	mov edi, boot_pdpt
	mov eax, boot_pds + (PTE_P | PTE_W)
	mov ecx, BOOT_MAP_GIB
.fill_pdpt:
	mov [edi], eax
	add eax, PAGE_SIZE
	add edi, 8
	loop .fill_pdpt
	mov edi, boot_pds
	mov eax, PTE_P | PTE_W | PTE_PS
	mov ecx, BOOT_MAP_GIB * PT_ENTRIES
.fill_pd:
	mov [edi], eax
	add eax, PAGE_2M
	add edi, 8
	loop .fill_pd

	mov eax, cr4
	or eax, CR4_PAE
	mov cr4, eax
	LEDGER EXIT_REASON_CR_ACCESS
	mov eax, boot_pml4
	mov cr3, eax
	inc dword [boot_cr3_writes]
	mov ecx, MSR_EFER
	rdmsr
	LEDGER EXIT_REASON_RDMSR
	or eax, EFER_LME
	wrmsr
	LEDGER EXIT_REASON_WRMSR
	mov eax, cr0
	or eax, CR0_PG | CR0_PE
	mov cr0, eax                ; EFER.LMA becomes 1: compatibility mode
	LEDGER EXIT_REASON_CR_ACCESS
	jmp SEL_KERNEL_CODE:long_mode_entry

.no_long_mode:
	mov esi, msg_no_long_mode   ; the boot information is no longer needed
	mov dx, COM1
.print:
	lodsb
	test al, al
	jz .halt
	out dx, al
	jmp .print
.halt:
	hlt
	jmp .halt

bits 64
long_mode_entry:
	xor eax, eax
	mov ds, ax                  ; null data segments are fine in 64-bit mode
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ax, SEL_KERNEL_DATA
	mov ss, ax
	mov rsp, boot_stack_top
	; The GS base: this CPU's struct cpu (guest/include/guest/percpu.h), before any C code.
	mov ecx, MSR_GS_BASE
	mov eax, cpu_boot
	xor edx, edx
	wrmsr
	mov edi, ebp                ; kernel_main(magic, boot information): ESI already holds it
	xor ebp, ebp
	call kernel_main
.hang:
	hlt
	jmp .hang

section .rodata
msg_no_long_mode: db "guest: this CPU has no long mode", 10, 0

; Page aligned as a section, and every size a multiple of a page (NASM's
; alignb trips over -w+all in NASM 2.16).
section .bss.boot nobits alloc noexec write align=4096
boot_pml4: resb PAGE_SIZE
boot_pdpt: resb PAGE_SIZE
boot_pds: resb BOOT_MAP_GIB * PAGE_SIZE
boot_stack: resb BOOT_STACK_SIZE
boot_stack_top:
