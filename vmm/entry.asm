; Monitor entry points.
;  _start32     : GRUB Multiboot2 entry (32-bit protected mode, paging off;
;                 EAX = Multiboot2 magic, EBX = boot information), found through
;                 the entry-address tag of the Multiboot2 header.
;  hv_efi_entry : the ELF entry, called by boot/efi (64-bit mode, UEFI page
;                 tables, SysV ABI, RDI = struct bootinfo *).
; Both switch to the monitor's own boot page tables (identity map of the low
; 4 GiB, 2 MiB pages), GDT and stack, then call into C.

%define MB2_HEADER_MAGIC      0xE85250D6
%define MB2_ARCH_I386         0
%define MB2_TAG_END           0
%define MB2_TAG_ENTRY_ADDRESS 3
%define MB2_TAG_FRAMEBUFFER   5
%define MB2_TAG_OPTIONAL      1     ; flags bit 0: the loader may ignore the tag
%define MB2_BOOTLOADER_MAGIC  0x36D76289

%define CR0_PE   (1 << 0)
%define CR0_NW   (1 << 29)
%define CR0_CD   (1 << 30)
%define CR0_PG   (1 << 31)
%define CR4_PAE  (1 << 5)
%define MSR_EFER 0xC0000080
%define EFER_LME (1 << 8)

%define PTE_P    (1 << 0)
%define PTE_W    (1 << 1)
%define PTE_PWT  (1 << 3)
%define PTE_PCD  (1 << 4)
%define PTE_PS   (1 << 7)
%define PAGE_2M  0x200000

%define BOOT_STACK_SIZE 0x8000

%define GDT_KERNEL_CODE 0x08
%define GDT_KERNEL_DATA 0x10

%define COM1 0x3f8

bits 32

section .multiboot2
align 8
mb2_header:
	dd MB2_HEADER_MAGIC
	dd MB2_ARCH_I386
	dd mb2_header_end - mb2_header
	dd 0x100000000 - (MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
align 8
	dw MB2_TAG_ENTRY_ADDRESS, 0
	dd 12
	dd _start32
align 8
	; Multiboot2 3.1.10 "The framebuffer tag of Multiboot2 header": any mode (0 = no
	; preference), optional; GRUB sets one only when its gfxpayload asks for graphics
	; (scripts/mkiso.sh --gfxpayload), and the monitor draws its screen console there.
	dw MB2_TAG_FRAMEBUFFER, MB2_TAG_OPTIONAL
	dd 20
	dd 0                    ; width
	dd 0                    ; height
	dd 0                    ; depth
align 8
	dw MB2_TAG_END, 0
	dd 8
mb2_header_end:

section .text32 progbits alloc exec
global _start32
_start32:
	cli
	cld
	mov esp, boot_stack_top
	mov edi, eax            ; Multiboot2 magic -> first C argument
	mov esi, ebx            ; boot information -> second C argument

	; GRUB may leave the caches disabled (CR0.CD/NW): turn them back on.
	mov eax, cr0
	and eax, ~(CR0_CD | CR0_NW)
	mov cr0, eax

	; Long mode is required (CPUID.80000001:EDX.LM[29]).
	mov eax, 0x80000000
	cpuid
	cmp eax, 0x80000001
	jb .no_long_mode
	mov eax, 0x80000001
	cpuid
	test edx, 1 << 29
	jz .no_long_mode

	mov eax, cr4
	or eax, CR4_PAE
	mov cr4, eax
	mov eax, boot_pml4
	mov cr3, eax
	mov ecx, MSR_EFER
	rdmsr
	or eax, EFER_LME
	wrmsr
	mov eax, cr0
	or eax, CR0_PG | CR0_PE
	mov cr0, eax
	lgdt [boot_gdt_ptr]
	jmp GDT_KERNEL_CODE:.long_mode

.no_long_mode:
	mov esi, msg_no_long_mode
.print:
	lodsb
	test al, al
	jz .halt
	mov dx, COM1
	out dx, al
	jmp .print
.halt:
	hlt
	jmp .halt

bits 64
.long_mode:
	mov ax, GDT_KERNEL_DATA
	mov ds, ax
	mov es, ax
	mov ss, ax
	xor eax, eax
	mov fs, ax
	mov gs, ax
	mov rsp, boot_stack_top
	extern hv_main_multiboot2
	call hv_main_multiboot2   ; (uint32_t magic, uint32_t info) - never returns
.hang:
	cli
	hlt
	jmp .hang

section .text
global hv_efi_entry
hv_efi_entry:
	cli
	cld
	; Copy the loader's bootinfo into the monitor's own, while the UEFI page
	; tables (which map it wherever the loader put it) are still active.
	extern hv_bootinfo
	extern hv_bootinfo_size
	mov rsi, rdi
	mov rdi, hv_bootinfo
	mov rcx, [rel hv_bootinfo_size]
	rep movsb
	mov rax, cr0
	and rax, ~(CR0_CD | CR0_NW)
	mov cr0, rax
	mov rax, boot_pml4
	mov cr3, rax
	lgdt [rel boot_gdt_ptr]
	mov rsp, boot_stack_top
	push GDT_KERNEL_CODE
	lea rax, [rel .reload_cs]
	push rax
	retfq
.reload_cs:
	mov ax, GDT_KERNEL_DATA
	mov ds, ax
	mov es, ax
	mov ss, ax
	xor eax, eax
	mov fs, ax
	mov gs, ax
	extern hv_main_efi
	call hv_main_efi
.hang:
	cli
	hlt
	jmp .hang

section .rodata
msg_no_long_mode: db "[hv] ERROR: this CPU has no 64-bit long mode; the monitor needs an x86-64 CPU", 13, 10, 0

section .data
align 16
boot_gdt:
	dq 0                       ; null
	dq 0x00af9a000000ffff      ; 0x08: 64-bit code, DPL 0 (L=1, D=0)
	dq 0x00cf92000000ffff      ; 0x10: data, DPL 0
boot_gdt_end:
boot_gdt_ptr:
	dw boot_gdt_end - boot_gdt - 1
	dq boot_gdt

; Boot page tables: identity map of [0, 4 GiB) with 2 MiB pages, WB except
; the top GiB (PCI/MMIO hole on PCs), which is mapped uncached.  Replaced by
; vmm/paging.c once the memory map is known.
align 4096
global boot_pml4
boot_pml4:
	dq boot_pdpt + PTE_P + PTE_W
	times 511 dq 0
boot_pdpt:
	dq boot_pd + 0 * 4096 + PTE_P + PTE_W
	dq boot_pd + 1 * 4096 + PTE_P + PTE_W
	dq boot_pd + 2 * 4096 + PTE_P + PTE_W
	dq boot_pd + 3 * 4096 + PTE_P + PTE_W
	times 508 dq 0
boot_pd:
%assign i 0
%rep 2048
%if i >= 1536
	dq (i * PAGE_2M) + PTE_P + PTE_W + PTE_PS + PTE_PCD + PTE_PWT
%else
	dq (i * PAGE_2M) + PTE_P + PTE_W + PTE_PS
%endif
%assign i i + 1
%endrep

section .bss
align 16
boot_stack:
	resb BOOT_STACK_SIZE
global boot_stack_top
boot_stack_top:
