; Guest entry: 32-bit protected mode, paging off (as a Multiboot loader leaves it).
bits 32
section .text32 progbits alloc exec
global guest_start32
guest_start32:
	mov esi, hello
	mov dx, 0x3f8
.next:
	lodsb
	test al, al
	jz .done
	out dx, al
	jmp .next
.done:
	xor eax, eax           ; hypercall 0: exit
	xor ebx, ebx           ; status 0
	vmcall
.hang:
	hlt
	jmp .hang

section .rodata
hello: db "hello from the guest", 10, 0
