/* The monitor's own CPU state: GDT, TSS, IDT, exception reporting. */
#ifndef VMM_CPU_H
#define VMM_CPU_H

#include <stdint.h>

#define GDT_SEL_NULL        0x00
#define GDT_SEL_KERNEL_CODE 0x08
#define GDT_SEL_KERNEL_DATA 0x10
#define GDT_SEL_TSS         0x18 /* 16-byte system descriptor */

#define IST_DOUBLE_FAULT 1
#define IST_NMI          2
#define IST_MACHINE_CHECK 3

/* Register frame pushed by vmm/platform/isr.asm. */
struct exception_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;
};

/* Addresses of the monitor's tables, for the VMCS host-state area. */
uint64_t cpu_gdt_base(void);
uint64_t cpu_idt_base(void);
uint64_t cpu_tss_base(void);

#endif
