/*
 * Exceptions.  In EPT mode they never leave the guest: the monitor does not
 * intercept them, so this is where every #PF, #GP, #UD of the guest lands.
 *   - a page fault on a reserved but unmapped page: map a zeroed frame;
 *   - any other exception from ring 3: kill the process, go on;
 *   - from ring 0 at an instruction in the exception table: record, resume;
 *   - anything else: a kernel bug, panic.
 */
#include <arch/cr.h>
#include <arch/segment.h>
#include <arch/debug.h>
#include <arch/vmx_state.h>
#include "guest/apic.h"
#include "guest/kernel.h"
#include "guest/layout.h"
#include "guest/mm.h"
#include "guest/proc.h"
#include "guest/trap.h"

#define CPL_MASK 3u

struct ex_table_entry {
	uint64_t from, to;
};
extern const struct ex_table_entry ex_table_start[], ex_table_end[]; /* guest/guest.ld */

struct fault_record boot_cpu_fault; /* kernel_fault on the bootstrap processor */
uint64_t kernel_demand_faults;

static const char *const exception_names[VECTOR_EXCEPTION_COUNT] = {
#define X(mn, vec, text, has_error) [vec] = "#" #mn " (" text ")",
	EXCEPTION_TABLE(X)
#undef X
};

static const char *vector_name(uint64_t v)
{
	return v < VECTOR_EXCEPTION_COUNT && exception_names[v] ? exception_names[v] : "reserved vector";
}

static bool resolve_page_fault(const struct trap_frame *f, uint64_t cr2)
{
	const bool kernel_half = (cr2 >> PML4_SHIFT) == KERNEL_HALF_SLOT;
	struct aspace *as = kernel_half || !current ? &kernel_aspace : &current->as;
	if (!demand_fault(as, cr2, f->error_code))
		return false;
	if (as == &kernel_aspace)
		kernel_demand_faults++;
	else
		current->fault_cpus |= 1ull << this_cpu_index();
	return true;
}

static const struct ex_table_entry *ex_table_find(uint64_t rip)
{
	for (const struct ex_table_entry *e = ex_table_start; e < ex_table_end; e++)
		if (e->from == rip)
			return e;
	return NULL;
}

static void dump_frame(const struct trap_frame *f, uint64_t cr2)
{
	kprintf("  rip=%#llx cs=%#llx rflags=%#llx rsp=%#llx ss=%#llx error=%#llx cr2=%#llx\n",
		(unsigned long long)f->rip, (unsigned long long)f->cs, (unsigned long long)f->rflags,
		(unsigned long long)f->rsp, (unsigned long long)f->ss, (unsigned long long)f->error_code,
		(unsigned long long)cr2);
	kprintf("  rax=%#llx rbx=%#llx rcx=%#llx rdx=%#llx rsi=%#llx rdi=%#llx rbp=%#llx\n",
		(unsigned long long)f->rax, (unsigned long long)f->rbx, (unsigned long long)f->rcx,
		(unsigned long long)f->rdx, (unsigned long long)f->rsi, (unsigned long long)f->rdi,
		(unsigned long long)f->rbp);
}

void trap_dispatch(struct trap_frame *f)
{
	if (f->vector >= VECTOR_EXCEPTION_COUNT || f->vector == VECTOR_NMI) {
		irq_dispatch(f); /* an interrupt or an NMI from the local APIC (guest/apic.c) */
		return;
	}
	const uint64_t cr2 = f->vector == VECTOR_PF ? read_cr2() : 0;
	if (f->vector == VECTOR_PF && resolve_page_fault(f, cr2))
		return;
	if ((f->cs & CPL_MASK) == SELECTOR_RPL_USER && current)
		proc_kill(f, cr2);
	const struct ex_table_entry *e = ex_table_find(f->rip);
	if (e) {
		kernel_fault = (struct fault_record){
			.count = kernel_fault.count + 1,
			.vector = f->vector,
			.error_code = f->error_code,
			.cr2 = cr2,
			.rip = f->rip,
		};
		f->rip = e->to;
		/*
		 * An expected #DB: a single-step trap ends the stepping; RF lets an instruction-breakpoint
		 * fault resume its instruction (SDM Vol. 3B 18.3.1.1), and only suppresses instruction
		 * breakpoints on the one instruction resumed at.
		 */
		if (f->vector == VECTOR_DB)
			f->rflags = (f->rflags & ~RFLAGS_TF) | RFLAGS_RF;
		return;
	}
	kprintf("kernel: unexpected %s in ring %llu\n", vector_name(f->vector), (unsigned long long)(f->cs & CPL_MASK));
	dump_frame(f, cr2);
	panic("unexpected exception %llu", (unsigned long long)f->vector);
}

const char *exception_vector_name(uint64_t vector)
{
	return vector_name(vector);
}
