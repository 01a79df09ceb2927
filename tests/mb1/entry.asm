; A tiny Multiboot1 kernel's entry (Multiboot Specification 0.6.96).
;
; The loader leaves us in 32-bit protected mode, paging off, EAX = 0x2BADB002 and EBX = the
; physical address of the boot information, with no stack (3.2 "Machine state").  Set one up and
; hand both registers to mb1_main() (tests/mb1/mb1.c), which never returns.
;
; Assembled twice: plain, for the ELF32 image (build/mb1.elf: the loader reads the ELF headers),
; and with -DAOUT_KLUDGE for the flat binary (build/mb1.bin: the loader reads the address fields,
; flag bit 16, 3.1.3, filled in by the linker from tests/mb1/mb1.ld's symbols).

%define MB1_HEADER_MAGIC         0x1BADB002 ; 3.1.2 "magic"
%define MB1_HEADER_PAGE_ALIGN    (1 << 0)   ; 3.1.2 flags: modules page-aligned
%define MB1_HEADER_MEMORY_INFO   (1 << 1)   ;   mem_* fields (and the memory map) wanted
%define MB1_HEADER_AOUT_KLUDGE   (1 << 16)  ;   the address fields at offsets 12-28 are valid
%define STACK_SIZE               0x4000

%ifdef AOUT_KLUDGE
%define MB1_FLAGS (MB1_HEADER_PAGE_ALIGN | MB1_HEADER_MEMORY_INFO | MB1_HEADER_AOUT_KLUDGE)
%else
%define MB1_FLAGS (MB1_HEADER_PAGE_ALIGN | MB1_HEADER_MEMORY_INFO)
%endif

extern mb1_main
extern mb1_load_start, mb1_load_end, mb1_bss_end

section .multiboot1 progbits alloc noexec nowrite align=4
global mb1_header
mb1_header:                              ; 3.1.1: 4-byte aligned, in the first 8192 bytes
	dd MB1_HEADER_MAGIC
	dd MB1_FLAGS
	dd (-(MB1_HEADER_MAGIC + MB1_FLAGS)) & 0xFFFFFFFF ; checksum: the three sum to 0
%ifdef AOUT_KLUDGE
	dd mb1_header                    ; header_addr
	dd mb1_load_start                ; load_addr
	dd mb1_load_end                  ; load_end_addr
	dd mb1_bss_end                   ; bss_end_addr
	dd mb1_start                     ; entry_addr
%endif

section .text
bits 32
global mb1_start
mb1_start:
	mov esp, stack_top
	push ebx                         ; struct mb1_info * (physical = virtual: paging is off)
	push eax                         ; the loader's magic
	call mb1_main
.hang:	cli
	hlt
	jmp .hang

section .bss
align 16
stack:	resb STACK_SIZE
stack_top:
