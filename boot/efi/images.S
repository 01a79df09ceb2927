/*
 * The monitor and the guest kernel, embedded in the EFI application as bytes.
 * HV_MONITOR_ELF and HV_GUEST_ELF are the file paths as C strings (boot/efi/efi.mk sets them).
 * Both go into .rodata (placed in the PE's .data section by gnu-efi's linker
 * script), 4 KiB-aligned so the ELF headers are naturally aligned.
 */
	.section .rodata.hv_images, "a"

	.balign 4096
	.global hv_monitor_image_start
hv_monitor_image_start:
	.incbin HV_MONITOR_ELF
	.global hv_monitor_image_end
hv_monitor_image_end:

	.balign 4096
	.global hv_guest_image_start
hv_guest_image_start:
	.incbin HV_GUEST_ELF
	.global hv_guest_image_end
hv_guest_image_end:

	.section .note.GNU-stack, "", @progbits
