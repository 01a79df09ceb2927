/* Exceptions: the IDT, trap frames, and recoverable kernel faults. */
#ifndef GUEST_TRAP_H
#define GUEST_TRAP_H

#include <stdbool.h>
#include <stdint.h>

/* What the exception stubs (guest/entry.asm) push, lowest address first. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss; /* pushed by the CPU (SDM Vol. 3A 6.14.2) */
};

struct fault_record {
	uint64_t count; /* how many so far */
	uint64_t vector, error_code, cr2, rip;
};

/*
 * Kernel code that expects a fault marks the instruction: a trap at RIP
 * "from" (the faulting instruction for a fault, the next one for a trap
 * such as #BP) resumes at "to", after kernel_fault records it.
 */
#define EX_TABLE_ENTRY(from, to) \
	".pushsection .ex_table, \"a\"\n\t.balign 8\n\t.quad " from ", " to "\n\t.popsection\n\t"

/*
 * The last fault recovered through the table, this CPU's: struct cpu's fault pointer, read through
 * GS (guest/include/guest/percpu.h); the bootstrap processor's record is boot_cpu_fault.
 */
#define CPU_OFF_FAULT 16
static inline struct fault_record *this_cpu_fault(void)
{
	struct fault_record *f;
	__asm__("mov %%gs:%c1, %0" : "=r"(f) : "i"(CPU_OFF_FAULT));
	return f;
}
#define kernel_fault (*this_cpu_fault())
extern struct fault_record boot_cpu_fault;
extern uint64_t kernel_demand_faults;        /* faults resolved in the kernel demand region */

#define IDT_VECTORS 256 /* 0-31 exceptions, 32-255 interrupts (SDM Vol. 3A 6.2) */

struct descriptor_table_ptr;
void cpu_tables_init(void);                  /* GDT, TSS, IDT (cpu.c) */
void tss_set_kernel_stack(uint64_t rsp0);
bool tss_descriptor_busy(void);              /* the TSS descriptor's type says "busy" */
void cpu_get_table_ptrs(struct descriptor_table_ptr *gdtr, struct descriptor_table_ptr *idtr);
void trap_dispatch(struct trap_frame *f);
const char *exception_vector_name(uint64_t vector); /* "#PF (page fault)" */

#endif
