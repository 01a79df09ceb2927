/*
 * Per-CPU data.  Each CPU's GS base points at its struct cpu (set before any C code runs on it:
 * guest/start.asm for the bootstrap processor, guest/trampoline.asm for the others), so
 * this_cpu() is one GS-relative load.
 *
 * Ring 3 runs on every CPU, and a program may load GS itself (MOV to GS reloads the base from the
 * descriptor: 0).  So the kernel's GS base is swapped out while ring 3 runs: every way into the
 * kernel from ring 3 (SYSCALL, an exception or interrupt with CS.RPL = 3) executes SWAPGS first,
 * and every way back (SYSRET, IRETQ to RPL 3) executes it last (guest/entry.asm).  In ring 0 the
 * GS base is always this CPU's struct cpu; in ring 3 it is the program's, and IA32_KERNEL_GS_BASE
 * (which the monitor passes through and never uses itself) holds the struct cpu.  SWAPGS causes no
 * VM exit.  The one gap: an NMI that arrives in ring 0 between a ring transition and its SWAPGS
 * (the first instructions of an entry, the last of an exit) would run with the program's GS base;
 * the kernel sends NMIs only to CPUs idle in the kernel (its tests), never to one running a program.
 */
#ifndef GUEST_PERCPU_H
#define GUEST_PERCPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <arch/segment.h>
#include <vmm/hypercall.h>
#include "guest/layout.h"
#include "guest/trap.h"

#define GUEST_MAX_CPUS 64

/* Offsets the assembly code uses (guest/trampoline.asm, guest/start.asm repeat them). */
#define CPU_OFF_SELF      0
#define CPU_OFF_LEDGER    8
/* CPU_OFF_FAULT (16) is in guest/include/guest/trap.h, which reads it for kernel_fault. */
#define CPU_OFF_STACK_TOP 24
#define CPU_OFF_INDEX     32
#define CPU_OFF_SYSCALL_RSP 40 /* guest/entry.asm: the stack SYSCALL switches to (the running process's) */
#define CPU_OFF_USER_RSP    48 /* guest/entry.asm: the user RSP, for the instructions until it is pushed */
#define CPU_OFF_CURRENT     56 /* the process running on this CPU (guest/include/guest/proc.h: current) */

enum cpu_state {
	CPU_ABSENT = 0,   /* not started (beyond cpus=, or no room) */
	CPU_STARTING,     /* INIT-SIPI-SIPI sent, not yet online */
	CPU_ONLINE,       /* idle in its STI; HLT loop, serving IPIs */
	CPU_FAILED,       /* did not come up in time: sent INIT again and left out */
	CPU_BUSY,         /* online, but running something that never returns (smp_spinner_does_not_block) */
};

struct proc;

/*
 * This CPU's scheduler (guest/proc.c): its run queue, a FIFO of runnable processes that belong to
 * it (a process never leaves the CPU it was placed on), under its own lock (in guest/proc.c: the
 * monitor's headers have a struct spinlock too), and what its local APIC timer does for it.
 */
struct cpu_sched {
	struct proc *head, *tail;      /* runnable, not running: the next to run is head */
	volatile uint32_t load;        /* processes placed here and not yet finished (queued, running, asleep) */
	uint64_t scheduler_rsp;        /* the scheduler's kernel RSP while a process runs */
	uint64_t active_cr3;           /* the CR3 this CPU has loaded (guest/paging.c) */
	uint64_t timer_quantum;        /* the periodic VECTOR_TIMER this CPU runs now (0: stopped) */
	volatile uint64_t ticks;       /* VECTOR_TIMER ticks taken */
	volatile uint64_t preemptions; /* ticks that took the CPU from a ring-3 process */
	volatile uint64_t kicks;       /* VECTOR_SCHED_KICK taken */
	volatile uint64_t switches;    /* switches into a process */
	volatile uint64_t idle_halts;  /* HLTs of its idle loop */
	volatile bool running;         /* its scheduler loop runs (an AP past start-up; the BSP in sched_run) */
};

struct cpu {
	struct cpu *self;            /* %gs:0 */
	uint64_t *ledger;            /* %gs:8: this CPU's exit ledger (the BSP's: exit_ledger) */
	struct fault_record *fault;  /* %gs:16: this CPU's recovered kernel faults (kernel_fault) */
	uint64_t stack_top;          /* %gs:24: the kernel stack (the trampoline loads RSP from it) */
	uint32_t index;              /* %gs:32: CPU number: 0 is the bootstrap processor, then MADT order */
	uint32_t apic_id;            /* its local APIC ID, from the MADT (checked against the APIC) */
	uint64_t syscall_rsp;        /* %gs:40: the running process's kernel stack top (SYSCALL's stack) */
	uint64_t user_rsp;           /* %gs:48: SYSCALL entry's scratch slot for the user's RSP */
	struct proc *cur_proc;       /* %gs:56: the process running here; NULL while the kernel itself runs */
	volatile int state;          /* enum cpu_state */
	uint64_t ist_top;            /* the #DF stack */
	uint64_t online_tsc;         /* when it reported online (BSP's TSC at the start = 0 for the BSP) */

	/* smp_call: the BSP posts a function, sends VECTOR_IPI_CALL; the CPU runs it in the handler. */
	void (*volatile call_fn)(void *arg);
	void *volatile call_arg;
	volatile uint32_t call_posted, call_done;

	/* What the CPU's interrupt handlers saw (guest/apic.c, guest/smp.c). */
	volatile uint64_t irqs;        /* interrupts taken on this CPU (vectors 32-255) */
	volatile uint64_t nmis;        /* NMIs taken */
	volatile uint64_t pings;       /* VECTOR_IPI_PING taken (each answered with a pong) */
	volatile uint64_t shootdowns;  /* VECTOR_TLB_SHOOTDOWN taken */
	volatile uint64_t timer_ticks; /* its local APIC timer's ticks (VECTOR_CPU_TIMER) */
	volatile uint64_t probe_faults;               /* smp_tlb_shootdown's probe: faults taken */
	volatile uint64_t probe_vector, probe_cr2;    /* and the last one's vector and CR2 */
	volatile uint64_t spin_turns;                 /* turns of a CPU_BUSY loop (the spinner test) */

	uint64_t gdt[GDT_ENTRIES] __attribute__((aligned(8)));
	struct tss64 tss;
	uint64_t own_ledger[HV_STATS_REASONS];
	struct fault_record own_fault;
	struct cpu_sched sched;
};

_Static_assert(offsetof(struct cpu, self) == CPU_OFF_SELF, "guest/start.asm and trampoline.asm use it");
_Static_assert(offsetof(struct cpu, ledger) == CPU_OFF_LEDGER, "ledger_add reads it");
_Static_assert(offsetof(struct cpu, fault) == CPU_OFF_FAULT, "kernel_fault reads it");
_Static_assert(offsetof(struct cpu, stack_top) == CPU_OFF_STACK_TOP, "guest/trampoline.asm reads it");
_Static_assert(offsetof(struct cpu, index) == CPU_OFF_INDEX, "this_cpu_index reads it");
_Static_assert(offsetof(struct cpu, syscall_rsp) == CPU_OFF_SYSCALL_RSP, "guest/entry.asm uses it");
_Static_assert(offsetof(struct cpu, user_rsp) == CPU_OFF_USER_RSP, "guest/entry.asm uses it");
_Static_assert(offsetof(struct cpu, cur_proc) == CPU_OFF_CURRENT, "proc_current reads it");

extern struct cpu cpu_boot;                      /* the bootstrap processor's (guest/smp.c) */
extern struct cpu *cpu_table[GUEST_MAX_CPUS];    /* by CPU number; NULL beyond cpu_count */
extern unsigned cpu_count;                       /* CPUs known (1 + the APs set up) */

static inline struct cpu *this_cpu(void)
{
	struct cpu *c;
	__asm__("mov %%gs:%c1, %0" : "=r"(c) : "i"(CPU_OFF_SELF));
	return c;
}

static inline unsigned this_cpu_index(void)
{
	uint32_t i;
	__asm__("movl %%gs:%c1, %0" : "=r"(i) : "i"(CPU_OFF_INDEX));
	return i;
}

static inline uint64_t *this_cpu_ledger(void)
{
	uint64_t *l;
	__asm__("mov %%gs:%c1, %0" : "=r"(l) : "i"(CPU_OFF_LEDGER));
	return l;
}

#endif
