/*
 * The state a guest loader asks its first vCPU to start in, independent of the backend, which turns
 * it into its own fields (VT-x: vmm/vmx/vmcs_setup.c).  A new guest format adds a loader that fills
 * this; nothing in the backend knows about Multiboot.
 */
#ifndef VMM_START_STATE_H
#define VMM_START_STATE_H

#include <stdint.h>

enum start_mode {
	/*
	 * 32-bit protected mode, paging off, flat 4 GiB code and data segments (CS 0x08, data 0x10),
	 * interrupts off: the state the Multiboot2 specification gives an i386 kernel (3.3 "I386
	 * machine state"), and the Linux 32-bit boot protocol's.
	 */
	START_PROTECTED32_FLAT,
	/*
	 * An application processor after INIT and a STARTUP IPI with vector V (SDM Vol. 3A 9.4.4.1,
	 * Table 10-1): real mode at CS:IP = (V << 8):0, CS base V << 12, every other register in its
	 * INIT state.  With unrestricted guest (EPT) the CPU runs it as it is; without (shadow paging)
	 * the backend runs it in virtual-8086 mode, where the monitor emulates what faults there
	 * (vmm/exit/vm86.c) until the guest sets CR0.PE.
	 */
	START_REAL_MODE_SIPI,
};

struct vcpu_start {
	enum start_mode mode;
	uint64_t rip;
	uint64_t rax, rbx, rsi; /* Multiboot2: magic and information address; Linux: RSI = boot_params */
	uint64_t eptp;          /* second-level root: EPT mode only */
	uint64_t cr3;           /* shadow mode: the monitor's table for the guest's paging-off phase */
	uint32_t sipi_vector;   /* START_REAL_MODE_SIPI: the STARTUP IPI's vector */
	/*
	 * START_REAL_MODE_SIPI without unrestricted guest: the guest-physical address of a 32-bit TSS
	 * whose I/O permission bitmap allows every port, for virtual-8086 mode (SDM Vol. 3A 20.2, 20.5:
	 * the CPU checks it before the VM exit for IN and OUT); 0: none.
	 */
	uint64_t vm86_tss;
	uint32_t vm86_tss_limit;
};

#endif
