; Monitor entry points.
;  _start32     : GRUB Multiboot2 entry (32-bit protected mode, paging off;
;                 EAX = Multiboot2 magic, EBX = boot information), found through
;                 the entry-address tag of the Multiboot2 header.
;  hv_efi_entry : the ELF entry, called by boot/efi (64-bit mode, UEFI page
;                 tables, SysV ABI, RDI = struct bootinfo *).
; The image is position-independent and runs wherever it was loaded (below
; 4 GiB, linker.ld).  Both entries fill the run-time addresses into the boot
; page tables (identity map of the low 4 GiB, 2 MiB pages) and GDT pointer,
; switch to them and to the boot stack, apply the image's relocations
; (hv_relocate_self, vmm/platform/reloc_self.c), then call into C.  Until then, they
; use no absolute address: 64-bit code is RIP-relative, and the 32-bit code
; works from its load address (the Multiboot2 load base address tag).

%define MB2_HEADER_MAGIC      0xE85250D6
%define MB2_ARCH_I386         0
; Header tags (Multiboot2 spec 3.1 "OS image format")
%define MB2_HEADER_TAG_END         0
%define MB2_HEADER_TAG_ADDRESS     2   ; "The address tag": load the file's bytes as they are, not as ELF
%define MB2_HEADER_TAG_ENTRY       3   ; "The entry address tag"
%define MB2_HEADER_TAG_FRAMEBUFFER 5
%define MB2_HEADER_TAG_RELOCATABLE 10  ; "Relocatable header tag": load it anywhere in a range
%define MB2_HEADER_TAG_OPTIONAL    1   ; flags bit 0: the loader may ignore the tag
%define MB2_LOAD_PREFERENCE_LOW    1   ; its preference field: the lowest possible address
; Boot information tags (3.6 "Boot information format")
%define MB2_BOOTLOADER_MAGIC       0x36D76289
%define MB2_INFO_HEADER_SIZE       8   ; total_size, reserved
%define MB2_TAG_END                0
%define MB2_TAG_LOAD_BASE_ADDR     21  ; "Image load base physical address"
%define MB2_TAG_HEADER_SIZE        8   ; type, size
%define MB2_TAG_LOAD_BASE_ADDR_SIZE 12
%define MB2_TAG_ALIGN              8

; Where GRUB may place the image: above the first MiB (never allocated by the
; monitor) and below 4 GiB (the boot page tables map [0, 4 GiB)); page-aligned
; (the boot page tables and the stack are).
%define HV_LOAD_MIN_ADDR 0x100000
%define HV_LOAD_MAX_ADDR 0xFFFFFFFF
%define HV_LOAD_ALIGN    0x1000

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
%define PAGE_4K  0x1000
%define PAGE_2M  0x200000
%define BOOT_PD_COUNT 4          ; page directories: 4 x 1 GiB

%define BOOT_STACK_SIZE 0x8000

%define GDT_KERNEL_CODE 0x08
%define GDT_KERNEL_DATA 0x10

%define COM1 0x3f8

; The offset of sym in the image, as a dd: sym - $ is PC-relative (R_X86_64_PC32,
; resolved by the linker), $ - mb2_header a constant.  The image starts with
; mb2_header and is linked at 0 (linker.ld), so this is also sym's link address.
%define IMAGE_OFFSET(sym) ((sym) - $ + ($ - mb2_header))

; Write a string literal to COM1 from immediates: the 32-bit code cannot read
; its own data before it knows where it was loaded.  Ends the line (CR LF).  Clobbers al, dx.
%macro COM1_PRINT_LINE 1
	mov dx, COM1
%strlen %%len %1
%assign %%i 1
%rep %%len
%substr %%c %1 %%i
	mov al, %%c
	out dx, al
%assign %%i %%i + 1
%endrep
	mov al, 13
	out dx, al
	mov al, 10
	out dx, al
%endmacro

; reg = the run-time address of the image offset stored at label (a dd IMAGE_OFFSET),
; from ebp = the run-time address of mb2_header (the image's load address).
%macro RUNTIME_ADDRESS 2
	mov %1, [ebp + (%2 - mb2_header)]
	add %1, ebp
%endmacro

extern hv_bss_start
extern hv_image_end

bits 32

; The header and the 32-bit entry code share one section, first in the image
; (linker.ld), so that offsets from mb2_header are assembly-time constants.
section .multiboot2 progbits alloc exec
align 8
global hv_mb2_header
hv_mb2_header:
mb2_header:
	dd MB2_HEADER_MAGIC
	dd MB2_ARCH_I386
	dd mb2_header_end - mb2_header
	dd 0x100000000 - (MB2_HEADER_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
align 8
	; The address tag: GRUB copies the file from mb2_header's offset on as it is
	; (the ELF's segments are laid out in the file as in memory: scripts/check-monitor-elf.py).
	dw MB2_HEADER_TAG_ADDRESS, 0
	dd 24
	dd IMAGE_OFFSET(mb2_header)   ; header_addr
	dd IMAGE_OFFSET(mb2_header)   ; load_addr: the image starts with the header
	dd IMAGE_OFFSET(hv_bss_start) ; load_end_addr: the file's data ends where .bss begins
	dd IMAGE_OFFSET(hv_image_end) ; bss_end_addr: GRUB zeroes up to here
align 8
	dw MB2_HEADER_TAG_ENTRY, 0
	dd 12
	dd IMAGE_OFFSET(_start32)     ; GRUB adds (load address - link address)
align 8
	; The relocatable header tag: GRUB picks the load address; _start32 finds it in
	; the "image load base physical address" tag of the boot information.
	dw MB2_HEADER_TAG_RELOCATABLE, 0
	dd 24
	dd HV_LOAD_MIN_ADDR
	dd HV_LOAD_MAX_ADDR
	dd HV_LOAD_ALIGN
	dd MB2_LOAD_PREFERENCE_LOW
align 8
	; Multiboot2 3.1.10 "The framebuffer tag of Multiboot2 header": any mode (0 = no
	; preference), optional; GRUB sets one only when its gfxpayload asks for graphics
	; (scripts/mkiso.sh --gfxpayload), and the monitor draws its screen console there.
	dw MB2_HEADER_TAG_FRAMEBUFFER, MB2_HEADER_TAG_OPTIONAL
	dd 20
	dd 0                    ; width
	dd 0                    ; height
	dd 0                    ; depth
align 8
	dw MB2_HEADER_TAG_END, 0
	dd 8
mb2_header_end:

; Image offsets of what the 32-bit code touches (see RUNTIME_ADDRESS).
align 4
offset_of_boot_pml4:      dd IMAGE_OFFSET(boot_pml4)
offset_of_boot_pdpt:      dd IMAGE_OFFSET(boot_pdpt)
offset_of_boot_pd:        dd IMAGE_OFFSET(boot_pd)
offset_of_boot_gdt:       dd IMAGE_OFFSET(boot_gdt)
offset_of_boot_gdt_ptr:   dd IMAGE_OFFSET(boot_gdt_ptr)
offset_of_boot_stack_top: dd IMAGE_OFFSET(boot_stack_top)

global _start32
_start32:
	cli
	cld
	mov edi, eax            ; Multiboot2 magic -> first C argument
	mov esi, ebx            ; boot information -> second C argument
	cmp eax, MB2_BOOTLOADER_MAGIC
	jne .no_multiboot2

	; Find the load base address tag: ebp = where GRUB put mb2_header.
	; The tags follow the 8-byte information header, each 8-byte aligned.
	mov ecx, [ebx]          ; total_size
	add ecx, ebx            ; end of the information
	lea ebx, [ebx + MB2_INFO_HEADER_SIZE]
.next_tag:
	lea eax, [ebx + MB2_TAG_HEADER_SIZE]
	cmp eax, ecx
	ja .no_load_base
	mov eax, [ebx]          ; type
	cmp eax, MB2_TAG_END
	je .no_load_base
	mov edx, [ebx + 4]      ; size
	cmp eax, MB2_TAG_LOAD_BASE_ADDR
	je .load_base
	cmp edx, MB2_TAG_HEADER_SIZE
	jb .no_load_base
	add edx, MB2_TAG_ALIGN - 1
	and edx, ~(MB2_TAG_ALIGN - 1)
	add ebx, edx
	jmp .next_tag
.load_base:
	cmp edx, MB2_TAG_LOAD_BASE_ADDR_SIZE
	jb .no_load_base
	mov ebp, [ebx + MB2_TAG_HEADER_SIZE]
	cmp dword [ebp], MB2_HEADER_MAGIC   ; the tag must point at this very header
	jne .bad_load_base

	; Long mode is required (CPUID.80000001:EDX.LM[29]).
	mov eax, 0x80000000
	cpuid
	cmp eax, 0x80000001
	jb .no_long_mode
	mov eax, 0x80000001
	cpuid
	test edx, 1 << 29
	jz .no_long_mode

	RUNTIME_ADDRESS esp, offset_of_boot_stack_top

	; GRUB may leave the caches disabled (CR0.CD/NW): turn them back on.
	mov eax, cr0
	and eax, ~(CR0_CD | CR0_NW)
	mov cr0, eax

	; The boot page tables' pointers to each other are run-time addresses.
	RUNTIME_ADDRESS ebx, offset_of_boot_pml4
	RUNTIME_ADDRESS ecx, offset_of_boot_pdpt
	lea eax, [ecx + PTE_P + PTE_W]
	mov [ebx], eax
	RUNTIME_ADDRESS edx, offset_of_boot_pd
	add edx, PTE_P + PTE_W
	xor eax, eax
.fill_pdpt:
	mov [ecx + eax * 8], edx
	add edx, PAGE_4K
	inc eax
	cmp eax, BOOT_PD_COUNT
	jb .fill_pdpt
	RUNTIME_ADDRESS eax, offset_of_boot_gdt
	RUNTIME_ADDRESS edx, offset_of_boot_gdt_ptr
	mov [edx + 2], eax      ; the descriptor-table pointer's base
	lgdt [edx]              ; used from the far return below

	mov eax, cr4
	or eax, CR4_PAE
	mov cr4, eax
	mov cr3, ebx
	mov ecx, MSR_EFER
	rdmsr
	or eax, EFER_LME
	wrmsr
	mov eax, cr0
	or eax, CR0_PG | CR0_PE
	mov cr0, eax
	push GDT_KERNEL_CODE
	lea eax, [ebp + (.long_mode - mb2_header)]
	push eax
	retf

.no_multiboot2:
	COM1_PRINT_LINE "[hv] ERROR: _start32 was entered without the Multiboot2 magic in EAX: boot this image with the multiboot2 command of GRUB"
	jmp .halt
.no_load_base:
	COM1_PRINT_LINE "[hv] ERROR: the boot information has no load base address tag (Multiboot2 3.6, type 21): the monitor cannot find where it was loaded; boot it with GRUB 2.02 or later"
	jmp .halt
.bad_load_base:
	COM1_PRINT_LINE "[hv] ERROR: the Multiboot2 load base address tag does not point at the monitor's header: the boot loader placed the image elsewhere than it says"
	jmp .halt
.no_long_mode:
	COM1_PRINT_LINE "[hv] ERROR: this CPU has no 64-bit long mode; the monitor needs an x86-64 CPU"
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
	lea rsp, [rel boot_stack_top]
	mov edi, edi              ; the upper halves are undefined after the switch (SDM Vol. 3A 9.8.5)
	mov esi, esi
	push rdi
	push rsi
	extern hv_relocate_self
	call hv_relocate_self     ; before anything reads an address from the image's data
	pop rsi
	pop rdi
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
	lea rdi, [rel hv_bootinfo]
	mov rcx, [rel hv_bootinfo_size]
	rep movsb
	mov rax, cr0
	and rax, ~(CR0_CD | CR0_NW)
	mov cr0, rax
	; The boot page tables' pointers to each other are run-time addresses.
	lea rax, [rel boot_pdpt + PTE_P + PTE_W]
	mov [rel boot_pml4], rax
	lea rax, [rel boot_pd + PTE_P + PTE_W]
	lea rdx, [rel boot_pdpt]
	xor ecx, ecx
.fill_pdpt:
	mov [rdx + rcx * 8], rax
	add rax, PAGE_4K
	inc ecx
	cmp ecx, BOOT_PD_COUNT
	jb .fill_pdpt
	lea rax, [rel boot_gdt]
	mov [rel boot_gdt_ptr + 2], rax
	lea rax, [rel boot_pml4]
	mov cr3, rax
	lgdt [rel boot_gdt_ptr]
	lea rsp, [rel boot_stack_top]
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
	call hv_relocate_self     ; before anything reads an address from the image's data
	extern hv_main_efi
	call hv_main_efi
.hang:
	cli
	hlt
	jmp .hang

section .data
align 16
boot_gdt:
	dq 0                       ; null
	dq 0x00af9a000000ffff      ; 0x08: 64-bit code, DPL 0 (L=1, D=0)
	dq 0x00cf92000000ffff      ; 0x10: data, DPL 0
boot_gdt_end:
boot_gdt_ptr:
	dw boot_gdt_end - boot_gdt - 1
	dq 0                       ; base: the run-time address of boot_gdt, written at entry

; Boot page tables: identity map of [0, 4 GiB) with 2 MiB pages, WB except
; the top GiB (PCI/MMIO hole on PCs), which is mapped uncached.  Replaced by
; vmm/mm/host/paging.c once the memory map is known.  The entries of the PML4 and the
; PDPT hold run-time addresses: both entry paths write them.
align 4096
global boot_pml4
boot_pml4:
	times 512 dq 0
boot_pdpt:
	times 512 dq 0
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
