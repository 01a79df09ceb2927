; The user programs, embedded in the kernel image as ELF files (guest/proc.c
; loads them).  One PROGRAM line per program: guest/guest.mk reads this list
; to build guest/user/NAME.c into the NAME.elf that incbin finds.
;
; Exports struct user_program user_programs[] (guest/include/guest/proc.h)
; and uint64_t user_program_count.

%define USER_PROGRAM_ENTRY_SIZE 24 ; name, image, size

%macro PROGRAM 1
	%defstr %%name %1
	%strcat %%file %%name, ".elf"
[section .rodata.user_images]
	align 16
%%image:
	incbin %%file
%%image_end:
[section .rodata.user_names]
%%name_str:
	db %%name, 0
[section .rodata.user_table]
	dq %%name_str, %%image, %%image_end - %%image
%endmacro

[section .rodata.user_table]
	align 8
global user_programs
user_programs:

PROGRAM hello
PROGRAM syscalls
PROGRAM memory
PROGRAM evil
PROGRAM spin
PROGRAM sleeper

[section .rodata.user_table]
user_programs_end:
[section .rodata]
	align 8
global user_program_count
user_program_count:
	dq (user_programs_end - user_programs) / USER_PROGRAM_ENTRY_SIZE
