; guest.test=task_switch: hardware task switches in 32-bit protected mode.
;
; Task switches exist only outside IA-32e mode, so this test runs from the
; 32-bit entry (start.asm calls task32_requested, then jumps to task32_test)
; before long mode is entered, with paging off, and never returns: it prints
; kvm-unit-tests style lines on COM1 and exits through the exit hypercall
; with the number of failures.  In VMX non-root operation every task switch
; exits (SDM Vol. 3C 26.4.2): the monitor performs it (vmm/exit/task.c).
;
;   task_jmp_tss        JMP to a TSS and JMP back: busy flags, registers, TR, CR0.TS
;   task_call_iret      CALL to a TSS, IRET with NT=1 back: NT, previous task link, busy flags
;   task_call_gate      CALL through a task gate in the GDT
;   task_int_gate       INT n through a task gate in the IDT
;   task_exception_gate #GP delivered through a task gate: the error code on the new task's stack
;   task_not_present    JMP to a not-present TSS: #NP(selector) in the old task
;   task_busy_call      CALL to the busy (current) TSS: #GP(selector) in the old task
;   task_short_limit    JMP to a TSS with limit < 67H: #TS(selector) in the old task
;   task_bad_cs         JMP to a task whose CS is a data segment: #TS(CS) in the new task
;   task_cr3            with 32-bit paging on, CALL to a task with its own CR3 and IRET back
;   task_tss_not_mapped a new TSS in an unmapped page: #PF in the old task, nothing switched

%define COM1 0x3f8
%define HC_EXIT 0x48560000                 ; HC_BASE + 0, vmm/include/vmm/hypercall.h

; Multiboot2 information (Multiboot2 spec 3.6): total size, reserved, then 8-aligned tags.
%define MB2_INFO_HEADER 8
%define MB2_TAG_END     0
%define MB2_TAG_CMDLINE 1
%define MB2_TAG_HEADER  8                  ; type, size

; Selectors of this test's GDT (TI = 0, RPL = 0).
%define SEL_CODE      0x08
%define SEL_DATA      0x10
%define SEL_TSS_MAIN  0x18
%define SEL_TSS_A     0x20
%define SEL_TSS_B     0x28
%define SEL_TSS_NP    0x30                 ; not present
%define SEL_TSS_SHORT 0x38                 ; limit 0x40 < 0x67
%define SEL_TSS_C     0x40                 ; its CS is a data segment
%define SEL_TSS_D     0x48                 ; #GP handler task
%define SEL_GATE_A    0x50                 ; task gate to TSS A
%define SEL_TSS_E     0x58                 ; a task with its own page directory
%define SEL_TSS_F     0x60                 ; its TSS in a page the main task does not map
%define GDT_ENTRIES   13

; Descriptors (SDM Vol. 3A 3.4.5, 7.2.2, 7.2.5).
%define DESC_CODE32_FLAT 0x00CF9A000000FFFF
%define DESC_DATA32_FLAT 0x00CF92000000FFFF
%define ACC_P            0x80
%define TYPE_TSS32_AVAIL 0x9
%define TYPE_TSS32_BUSY  0xB
%define TYPE_TASK_GATE   0x5
%define TYPE_INTR_GATE32 0xE
%define TYPE_MASK        0x0F
%define DESC_ACCESS_BYTE 5                 ; offset of the access byte in a descriptor
%define TSS32_LIMIT      0x67
%define TSS_SHORT_LIMIT  0x40

; 32-bit TSS fields (SDM Vol. 3A Figure 7-2).
%define TSS_LINK   0x00
%define TSS_CR3    0x1C
%define TSS_EIP    0x20
%define TSS_EFLAGS 0x24
%define TSS_EAX    0x28
%define TSS_ESP    0x38
%define TSS_ES     0x48
%define TSS_CS     0x4C
%define TSS_SS     0x50
%define TSS_DS     0x54
%define TSS_FS     0x58
%define TSS_GS     0x5C
%define TSS_IOMAP  0x66
%define TSS_SIZE   0x68

%define EFLAGS_RESERVED1 (1 << 1)
%define EFLAGS_NT        (1 << 14)
%define CR0_TS           (1 << 3)
%define CR0_PG           (1 << 31)
%define CR4_PSE          (1 << 4)

; 32-bit paging with 4-MiB pages (SDM Vol. 3A 4.3, Table 4-4).
%define PDE_P            (1 << 0)
%define PDE_W            (1 << 1)
%define PDE_PS           (1 << 7)
%define PD_ENTRIES       1024
%define PAGE_4M          0x400000
%define ALT_WINDOW       0x40000000        ; mapped (to physical 0) only by task E's page directory
%define PROBE_GDT_BASE   0x12345678        ; lgdt32_full_base: bits 31:24 set
%define ALT_PDE          (ALT_WINDOW / PAGE_4M)
%define MARKER           0x7A5C3E11

%define VECTOR_DE   0
%define VECTOR_TS   10
%define VECTOR_NP   11
%define VECTOR_GP   13
%define VECTOR_PF   14
%define PF_EC_P     (1 << 0)
%define VECTOR_TASK 0x80                   ; INT 0x80: the task gate to TSS B
%define IDT_ENTRIES (VECTOR_TASK + 1)
%define FAULT_STUBS 20                     ; vectors 0..19 get a reporting stub
%define STACK_SIZE  1024
%define MAGIC_EAX   0xA0A0A0A0
%define MAGIC_EBX   0x12345678

bits 32
section .text32 progbits alloc exec nowrite

; EAX = 1 when the Multiboot2 command line (ESI: the boot information) contains "test=task_switch".
global task32_requested
task32_requested:
	push esi
	push edi
	push ecx
	mov ecx, [esi]                      ; total size
	lea edx, [esi + ecx]                ; end of the information
	add esi, MB2_INFO_HEADER
.tag:
	lea eax, [esi + MB2_TAG_HEADER]
	cmp eax, edx
	ja .no
	mov eax, [esi]
	cmp eax, MB2_TAG_END
	je .no
	cmp eax, MB2_TAG_CMDLINE
	je .search
	mov eax, [esi + 4]                  ; next tag: size rounded up to 8
	add eax, 7
	and eax, ~7
	jz .no
	add esi, eax
	jmp .tag
.search:
	add esi, MB2_TAG_HEADER             ; the NUL-terminated string
.start:
	cmp byte [esi], 0
	je .no
	mov edi, wanted
	push esi
.cmp:
	mov al, [edi]
	test al, al
	jz .found
	cmp al, [esi]
	jne .next
	inc esi
	inc edi
	jmp .cmp
.next:
	pop esi
	inc esi
	jmp .start
.found:
	pop esi
	mov eax, 1
	jmp .out
.no:
	xor eax, eax
.out:
	pop ecx
	pop edi
	pop esi
	ret

; ---- output ----
; ESI: NUL-terminated string to COM1 (each OUT exits to the monitor's virtual UART).
print:
	push eax
	push edx
	mov dx, COM1
.loop:
	lodsb
	test al, al
	jz .done
	out dx, al
	jmp .loop
.done:
	pop edx
	pop eax
	ret

; EAX in hexadecimal.
print_hex:
	pusha
	mov ebx, eax
	mov ecx, 8
	mov dx, COM1
	mov al, '0'
	out dx, al
	mov al, 'x'
	out dx, al
.digit:
	rol ebx, 4
	mov eax, ebx
	and eax, 0xf
	mov al, [hex_digits + eax]
	out dx, al
	loop .digit
	popa
	ret

; ---- checks ----
; EXPECT value, expected: a mismatch fails the current test and says what was found.
%macro EXPECT 2
	push eax
	mov eax, %1
	cmp eax, %2
	je %%ok
	call expect_failed
	mov esi, %%what
	call print
	mov eax, %2
	call print_hex
	mov esi, newline
	call print
%%ok:
	pop eax
	section .rodata
%%what: db " (", %str(%1), ") expected ", 0
	section .text32
%endmacro

; EAX: the value found.
expect_failed:
	mov byte [test_ok], 0
	push esi
	mov esi, msg_found
	call print
	call print_hex
	pop esi
	ret

; END_TEST "name": a PASS or FAIL line.
%macro END_TEST 1
	mov esi, %%name
	call end_test
	section .rodata
%%name: db %1, 10, 0
	section .text32
%endmacro

end_test:
	inc dword [tests_run]
	cmp byte [test_ok], 1
	je .pass
	inc dword [tests_failed]
	push esi
	mov esi, msg_fail
	call print
	pop esi
	call print
	jmp .out
.pass:
	push esi
	mov esi, msg_pass
	call print
	pop esi
	call print
.out:
	mov byte [test_ok], 1
	mov dword [fault_vector], -1
	mov dword [fault_error], -1
	mov word [fault_tr], 0
	ret

; The type field of GDT descriptor %1.
%macro DESC_TYPE 1
	movzx eax, byte [gdt + %1 + DESC_ACCESS_BYTE]
	and eax, TYPE_MASK
%endmacro

; ---- set-up ----
; EDI: descriptor slot, EAX: base, ECX: limit (< 64 KiB), DL: access byte.  Byte granular, 32-bit TSS.
set_system_desc:
	mov [edi], cx                       ; limit 15:0
	mov [edi + 2], ax                   ; base 15:0
	shr eax, 16
	mov [edi + 4], al                   ; base 23:16
	mov [edi + 5], dl                   ; access byte
	mov byte [edi + 6], 0               ; limit 19:16, flags
	mov [edi + 7], ah                   ; base 31:24
	ret

; EDI: TSS, EAX: EIP, ECX: ESP.  A flat ring-0 task with the test's segments.
init_tss:
	push eax
	push ecx
	push edi
	mov ecx, TSS_SIZE
	xor eax, eax
	rep stosb
	pop edi
	pop ecx
	pop eax
	mov [edi + TSS_EIP], eax
	mov [edi + TSS_ESP], ecx
	mov dword [edi + TSS_EFLAGS], EFLAGS_RESERVED1
	mov word [edi + TSS_CS], SEL_CODE
	mov word [edi + TSS_SS], SEL_DATA
	mov word [edi + TSS_DS], SEL_DATA
	mov word [edi + TSS_ES], SEL_DATA
	mov word [edi + TSS_FS], SEL_DATA
	mov word [edi + TSS_GS], SEL_DATA
	mov word [edi + TSS_IOMAP], TSS_SIZE
	ret

; EDI: IDT slot, EAX: handler.  A 32-bit ring-0 interrupt gate.
set_intr_gate:
	mov [edi], ax
	mov word [edi + 2], SEL_CODE
	mov byte [edi + 4], 0
	mov byte [edi + 5], ACC_P | TYPE_INTR_GATE32
	shr eax, 16
	mov [edi + 6], ax
	ret

; EDI: gate slot (GDT or IDT), AX: TSS selector.  A ring-0 task gate.
set_task_gate:
	mov word [edi], 0
	mov [edi + 2], ax
	mov byte [edi + 4], 0
	mov byte [edi + 5], ACC_P | TYPE_TASK_GATE
	mov word [edi + 6], 0
	ret

global task32_test
task32_test:
	mov esi, msg_start
	call print
	mov byte [test_ok], 1

	; The GDT: flat code and data, the TSS descriptors, a task gate.
	mov dword [gdt + SEL_CODE], DESC_CODE32_FLAT & 0xffffffff
	mov dword [gdt + SEL_CODE + 4], DESC_CODE32_FLAT >> 32
	mov dword [gdt + SEL_DATA], DESC_DATA32_FLAT & 0xffffffff
	mov dword [gdt + SEL_DATA + 4], DESC_DATA32_FLAT >> 32
	mov dl, ACC_P | TYPE_TSS32_AVAIL
	mov ecx, TSS32_LIMIT
	mov edi, gdt + SEL_TSS_MAIN
	mov eax, tss_main
	call set_system_desc
	mov edi, gdt + SEL_TSS_A
	mov eax, tss_a
	call set_system_desc
	mov edi, gdt + SEL_TSS_B
	mov eax, tss_b
	call set_system_desc
	mov edi, gdt + SEL_TSS_C
	mov eax, tss_c
	call set_system_desc
	mov edi, gdt + SEL_TSS_D
	mov eax, tss_d
	call set_system_desc
	mov edi, gdt + SEL_TSS_E
	mov eax, tss_e
	call set_system_desc
	mov edi, gdt + SEL_TSS_F
	mov eax, ALT_WINDOW + tss_c
	call set_system_desc
	mov edi, gdt + SEL_TSS_SHORT
	mov eax, tss_c
	mov ecx, TSS_SHORT_LIMIT
	call set_system_desc
	mov edi, gdt + SEL_TSS_NP
	mov eax, tss_c
	mov ecx, TSS32_LIMIT
	mov dl, TYPE_TSS32_AVAIL            ; P = 0
	call set_system_desc
	mov edi, gdt + SEL_GATE_A
	mov ax, SEL_TSS_A
	call set_task_gate
	lgdt [gdt_ptr]
	jmp SEL_CODE:.reload
.reload:
	mov ax, SEL_DATA
	mov ds, ax
	mov es, ax
	mov fs, ax
	mov gs, ax
	mov ss, ax
	mov esp, stack_main_top

	; The IDT: a reporting interrupt gate per exception, the task gate at VECTOR_TASK.
	xor ebx, ebx
.fill_idt:
	lea edi, [idt + ebx * 8]
	mov eax, [fault_stub_table + ebx * 4]
	call set_intr_gate
	inc ebx
	cmp ebx, FAULT_STUBS
	jb .fill_idt
	mov edi, idt + VECTOR_TASK * 8
	mov ax, SEL_TSS_B
	call set_task_gate
	lidt [idt_ptr]

	mov ax, SEL_TSS_MAIN
	ltr ax
	mov dword [fault_vector], -1
	mov dword [fault_error], -1

	; ---- task_jmp_tss ----
	mov edi, tss_a
	mov eax, task_a_jmp
	mov ecx, stack_a_top
	call init_tss
	mov dword [tss_a + TSS_EAX], MAGIC_EAX
	clts
	mov ebx, MAGIC_EBX
	jmp SEL_TSS_A:0
.jmp_back:
	EXPECT ebx, MAGIC_EBX               ; the main task's registers came back from its TSS
	EXPECT [task_result], MAGIC_EAX     ; task A started with its TSS's EAX
	EXPECT [task_tr], SEL_TSS_A
	EXPECT [tss_main + TSS_EIP], .jmp_back ; where JMP saved the main task
	str ax
	movzx eax, ax
	EXPECT eax, SEL_TSS_MAIN
	DESC_TYPE SEL_TSS_MAIN
	EXPECT eax, TYPE_TSS32_BUSY
	DESC_TYPE SEL_TSS_A
	EXPECT eax, TYPE_TSS32_AVAIL        ; JMP cleared the busy flag of the task it left
	EXPECT [task_busy], TYPE_TSS32_BUSY ; ... and set the new one's
	mov eax, cr0
	and eax, CR0_TS
	EXPECT eax, CR0_TS                  ; every task switch sets CR0.TS
	clts
	END_TEST "task_jmp_tss"

	; ---- task_call_iret ----
	mov edi, tss_a
	mov eax, task_a_call
	mov ecx, stack_a_top
	call init_tss
	call SEL_TSS_A:0
	EXPECT [task_nt], EFLAGS_NT         ; CALL set NT in the called task
	EXPECT [task_link], SEL_TSS_MAIN    ; and its previous task link
	EXPECT [task_busy], TYPE_TSS32_BUSY
	EXPECT [task_tr], SEL_TSS_A
	pushfd
	pop eax
	and eax, EFLAGS_NT
	EXPECT eax, 0                       ; the caller's NT is untouched
	DESC_TYPE SEL_TSS_A
	EXPECT eax, TYPE_TSS32_AVAIL        ; IRET cleared the busy flag of the task it left
	DESC_TYPE SEL_TSS_MAIN
	EXPECT eax, TYPE_TSS32_BUSY
	clts
	END_TEST "task_call_iret"

	; ---- task_call_gate ----
	mov edi, tss_a
	mov eax, task_a_call
	mov ecx, stack_a_top
	call init_tss
	mov dword [task_link], 0
	call SEL_GATE_A:0
	EXPECT [task_tr], SEL_TSS_A
	EXPECT [task_nt], EFLAGS_NT
	EXPECT [task_link], SEL_TSS_MAIN
	DESC_TYPE SEL_TSS_A
	EXPECT eax, TYPE_TSS32_AVAIL
	clts
	END_TEST "task_call_gate"

	; ---- task_int_gate ----
	mov edi, tss_b
	mov eax, task_b_int
	mov ecx, stack_b_top
	call init_tss
	mov dword [task_link], 0
	mov ebx, MAGIC_EBX
	int VECTOR_TASK
	EXPECT ebx, MAGIC_EBX
	EXPECT [task_tr], SEL_TSS_B
	EXPECT [task_nt], EFLAGS_NT
	EXPECT [task_link], SEL_TSS_MAIN
	EXPECT [task_busy], TYPE_TSS32_BUSY
	DESC_TYPE SEL_TSS_B
	EXPECT eax, TYPE_TSS32_AVAIL
	clts
	END_TEST "task_int_gate"

	; ---- task_exception_gate: #GP through a task gate (CALL to the busy TSS raises it) ----
	mov edi, tss_d
	mov eax, task_d_gp
	mov ecx, stack_d_top
	call init_tss
	mov dword [task_link], 0
	mov dword [task_result], -1
	mov edi, idt + VECTOR_GP * 8
	mov ax, SEL_TSS_D
	call set_task_gate
	mov dword [gp_resume], .gp_done
.gp_raise:
	call SEL_TSS_MAIN:0
.gp_done:
	mov edi, idt + VECTOR_GP * 8
	mov eax, [fault_stub_table + VECTOR_GP * 4]
	call set_intr_gate
	EXPECT [task_tr], SEL_TSS_D
	EXPECT [task_link], SEL_TSS_MAIN
	EXPECT [task_result], SEL_TSS_MAIN  ; the error code, on the handler task's stack
	EXPECT [task_saved_eip], .gp_raise  ; a fault saves the faulting instruction's EIP
	clts
	END_TEST "task_exception_gate"

	; ---- task_not_present ----
	mov dword [fault_resume], .np_done
	jmp SEL_TSS_NP:0
.np_done:
	EXPECT [fault_vector], VECTOR_NP
	EXPECT [fault_error], SEL_TSS_NP
	EXPECT [fault_tr], SEL_TSS_MAIN     ; in the old task
	END_TEST "task_not_present"

	; ---- task_busy_call ----
	mov dword [fault_resume], .busy_done
	call SEL_TSS_MAIN:0
.busy_done:
	EXPECT [fault_vector], VECTOR_GP
	EXPECT [fault_error], SEL_TSS_MAIN
	EXPECT [fault_tr], SEL_TSS_MAIN
	END_TEST "task_busy_call"

	; ---- task_short_limit ----
	mov dword [fault_resume], .short_done
	jmp SEL_TSS_SHORT:0
.short_done:
	EXPECT [fault_vector], VECTOR_TS
	EXPECT [fault_error], SEL_TSS_SHORT
	EXPECT [fault_tr], SEL_TSS_MAIN
	DESC_TYPE SEL_TSS_MAIN
	EXPECT eax, TYPE_TSS32_BUSY         ; nothing changed before the fault
	END_TEST "task_short_limit"

	; ---- task_bad_cs: the fault comes after the commit point, in the new task ----
	mov edi, tss_c
	mov eax, task_a_jmp                 ; never runs
	mov ecx, stack_c_top
	call init_tss
	mov word [tss_c + TSS_CS], SEL_DATA
	mov dword [fault_resume], .bad_cs_done
	jmp SEL_TSS_C:0
.bad_cs_done:
	EXPECT [fault_vector], VECTOR_TS
	EXPECT [fault_error], SEL_DATA
	EXPECT [fault_tr], SEL_TSS_C        ; in the new task
	clts
	END_TEST "task_bad_cs"

	; ---- task_cr3: paging on, a task with its own CR3 (loaded through the monitor's CR3 path) ----
	mov edi, pd_main
	mov eax, PDE_P | PDE_W | PDE_PS
	mov ecx, PD_ENTRIES
.fill_pd:
	mov [edi], eax                      ; identity map of the 4 GiB in 4-MiB pages
	add eax, PAGE_4M
	add edi, 4
	loop .fill_pd
	mov dword [pd_main + ALT_PDE * 4], 0
	mov esi, pd_main
	mov edi, pd_alt
	mov ecx, PD_ENTRIES
	rep movsd
	mov dword [pd_alt + ALT_PDE * 4], PDE_P | PDE_W | PDE_PS ; the window onto physical 0
	mov dword [marker], MARKER
	mov edi, tss_e
	mov eax, task_e_cr3
	mov ecx, stack_e_top
	call init_tss
	mov dword [tss_e + TSS_CR3], pd_alt
	mov dword [tss_main + TSS_CR3], pd_main ; IRET back loads the main task's CR3
	mov eax, pd_main
	mov cr3, eax
	mov eax, cr4
	or eax, CR4_PSE
	mov cr4, eax
	mov eax, cr0
	or eax, CR0_PG
	mov cr0, eax
	mov dword [task_result], 0
	mov dword [task_value], 0
	call SEL_TSS_E:0
	EXPECT [task_tr], SEL_TSS_E
	EXPECT [task_result], pd_alt        ; CR3 in task E
	EXPECT [task_value], MARKER         ; read through task E's own mapping
	mov eax, cr3
	EXPECT eax, pd_main                 ; and the main task's CR3 back after IRET
	clts
	END_TEST "task_cr3"

	; ---- task_tss_not_mapped: the monitor's #PF on the new TSS, before the commit point ----
	mov dword [fault_resume], .unmapped_done
	jmp SEL_TSS_F:0
.unmapped_done:
	EXPECT [fault_vector], VECTOR_PF
	mov eax, [fault_error]
	and eax, PF_EC_P
	EXPECT eax, 0                       ; a not-present page
	EXPECT [fault_cr2], ALT_WINDOW + tss_c
	EXPECT [fault_tr], SEL_TSS_MAIN     ; in the old task
	DESC_TYPE SEL_TSS_MAIN
	EXPECT eax, TYPE_TSS32_BUSY
	DESC_TYPE SEL_TSS_F
	EXPECT eax, TYPE_TSS32_AVAIL
	END_TEST "task_tss_not_mapped"

	; ---- lgdt32_full_base: a 32-bit LGDT keeps all 32 bits of the base (SDM Vol. 2A LGDT; a 16-bit
	; operand size would keep 24), o16 LGDT keeps 24; SGDT stores them. Nothing uses the GDT meanwhile.
	cli
	lgdt [probe_gdt_ptr]
	sgdt [probe_out]
	EXPECT [probe_out + 2], PROBE_GDT_BASE
	o16 lgdt [probe_gdt_ptr]
	sgdt [probe_out]
	EXPECT [probe_out + 2], PROBE_GDT_BASE & 0xffffff
	lgdt [gdt_ptr]
	END_TEST "lgdt32_full_base"

	; ---- summary and exit ----
	mov esi, msg_summary
	call print
	mov eax, [tests_run]
	call print_dec
	mov esi, msg_tests
	call print
	mov eax, [tests_failed]
	call print_dec
	mov esi, msg_failures
	call print
	mov eax, HC_EXIT
	mov ebx, [tests_failed]
	vmcall
.halt:
	hlt
	jmp .halt
; EAX in decimal (small numbers).
print_dec:
	pusha
	mov ecx, 10
	xor ebx, ebx
.div:
	xor edx, edx
	div ecx
	push edx
	inc ebx
	test eax, eax
	jnz .div
	mov dx, COM1
.out:
	pop eax
	add al, '0'
	out dx, al
	dec ebx
	jnz .out
	popa
	ret

; ---- the other tasks ----
task_a_jmp:
	mov [task_result], eax
	str ax
	movzx eax, ax
	mov [task_tr], eax
	DESC_TYPE SEL_TSS_A
	mov [task_busy], eax
	jmp SEL_TSS_MAIN:0
	jmp task_a_jmp                      ; not reached: the TSS is re-initialized before reuse

; Called (CALL or INT through a gate): note NT, the link, TR, busy; IRET back.
task_a_call:
task_b_int:
	pushfd
	pop eax
	and eax, EFLAGS_NT
	mov [task_nt], eax
	str ax
	movzx eax, ax
	mov [task_tr], eax
	cmp eax, SEL_TSS_A
	mov eax, tss_a
	je .link
	mov eax, tss_b
.link:
	movzx eax, word [eax + TSS_LINK]
	mov [task_link], eax
	mov eax, [task_tr]
	movzx eax, byte [gdt + eax + DESC_ACCESS_BYTE]
	and eax, TYPE_MASK
	mov [task_busy], eax
	iretd
	jmp task_a_call                     ; not reached

; Task E: CR3 and a read through the window only its page directory maps.
task_e_cr3:
	str ax
	movzx eax, ax
	mov [task_tr], eax
	mov eax, cr3
	mov [task_result], eax
	mov eax, [ALT_WINDOW + marker]
	mov [task_value], eax
	iretd
	jmp task_e_cr3                      ; not reached

; The #GP handler task: pop the error code, resume the faulting task past its fault.
task_d_gp:
	pop eax
	mov [task_result], eax
	str ax
	movzx eax, ax
	mov [task_tr], eax
	movzx eax, word [tss_d + TSS_LINK]
	mov [task_link], eax
	mov eax, [tss_main + TSS_EIP]
	mov [task_saved_eip], eax
	mov eax, [gp_resume]
	mov [tss_main + TSS_EIP], eax
	iretd
	jmp task_d_gp                       ; not reached

; ---- exceptions through interrupt gates ----
%macro FAULT_STUB 1
fault_stub_%1:
%if %1 != 8 && (%1 < 10 || %1 > 14) && %1 != 17
	push dword 0                        ; no error code: keep one frame layout
%endif
	push dword %1
	jmp fault_common
%endmacro
%assign v 0
%rep FAULT_STUBS
FAULT_STUB %[v]
%assign v v + 1
%endrep

; Stack: vector, error code, EIP, CS, EFLAGS.  An expected fault resumes at fault_resume:
; in the main task by IRET, in another task (a fault after the commit point) by a JMP back to main.
fault_common:
	push eax
	mov ax, SEL_DATA                    ; after a fault in a task switch, DS may be anything
	mov ds, ax
	mov es, ax
	pop eax
	pop dword [fault_vector]
	pop dword [fault_error]
	push eax
	mov eax, cr2
	mov [fault_cr2], eax
	str ax
	movzx eax, ax
	mov [fault_tr], eax
	mov eax, [fault_resume]
	test eax, eax
	jz .unexpected
	mov dword [fault_resume], 0
	cmp dword [fault_tr], SEL_TSS_MAIN
	jne .other_task
	mov [esp + 4], eax                  ; the return EIP
	pop eax
	iretd
.other_task:
	pop eax
	jmp SEL_TSS_MAIN:0                  ; the main task resumes after its JMP
.unexpected:
	mov esi, msg_unexpected
	call print
	mov eax, [fault_vector]
	call print_hex
	mov esi, msg_error
	call print
	mov eax, [fault_error]
	call print_hex
	mov esi, msg_at
	call print
	mov eax, [esp + 4]
	call print_hex
	mov esi, newline
	call print
	mov eax, HC_EXIT
	mov ebx, 1
	vmcall
.halt:
	hlt
	jmp .halt

section .rodata
align 4
fault_stub_table:
%assign v 0
%rep FAULT_STUBS
	dd fault_stub_%[v]
%assign v v + 1
%endrep
wanted:         db "test=task_switch", 0
hex_digits:     db "0123456789abcdef"
msg_start:      db "task_switch: 32-bit hardware task switches (SDM Vol. 3A 7.3)", 10, 0
msg_pass:       db "PASS: ", 0
msg_fail:       db "FAIL: ", 0
msg_found:      db "  found ", 0
msg_summary:    db "SUMMARY: ", 0
msg_tests:      db " tests, ", 0
msg_failures:   db " failures", 10, 0
msg_unexpected: db "FAIL: unexpected exception, vector ", 0
msg_error:      db " error code ", 0
msg_at:         db " at EIP ", 0
newline:        db 10, 0

section .data
align 8
gdt_ptr:
	dw GDT_ENTRIES * 8 - 1
	dd gdt
align 8
probe_gdt_ptr:                      ; a base above 16 MiB: only its load and store are checked
	dw 0xffff
	dd PROBE_GDT_BASE
align 8
probe_out:
	dw 0
	dd 0
align 8
idt_ptr:
	dw IDT_ENTRIES * 8 - 1
	dd idt

; Stacks first, all sizes multiples of 8, so everything is aligned without alignb
; (NASM 2.16's alignb trips over -w+all, see start.asm).
section .bss nobits alloc noexec write align=16
stack_main:     resb STACK_SIZE
stack_main_top:
stack_a:        resb STACK_SIZE
stack_a_top:
stack_b:        resb STACK_SIZE
stack_b_top:
stack_c:        resb STACK_SIZE
stack_c_top:
stack_d:        resb STACK_SIZE
stack_d_top:
stack_e:        resb STACK_SIZE
stack_e_top:
gdt:            resq GDT_ENTRIES
idt:            resq IDT_ENTRIES
tss_main:       resb TSS_SIZE
tss_a:          resb TSS_SIZE
tss_b:          resb TSS_SIZE
tss_c:          resb TSS_SIZE
tss_d:          resb TSS_SIZE
tss_e:          resb TSS_SIZE
test_ok:        resd 1
tests_run:      resd 1
tests_failed:   resd 1
fault_vector:   resd 1
fault_error:    resd 1
fault_tr:       resd 1
fault_cr2:      resd 1
fault_resume:   resd 1
gp_resume:      resd 1
task_result:    resd 1
task_tr:        resd 1
task_busy:      resd 1
task_nt:        resd 1
task_link:      resd 1
task_saved_eip: resd 1
task_value:     resd 1
marker:         resd 1

section .bss.task32_pd nobits alloc noexec write align=4096
pd_main:        resd PD_ENTRIES
pd_alt:         resd PD_ENTRIES
