/* Processes: user programs in ring 3, each in its own address space, scheduled cooperatively. */
#ifndef GUEST_PROC_H
#define GUEST_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include "guest/mm.h"
#include "guest/percpu.h"
#include "guest/trap.h"

#define MAX_PROCS      8
#define PROC_NAME_MAX  16
#define SCHED_TRACE_MAX 64

enum proc_state { PROC_FREE = 0, PROC_RUNNABLE, PROC_SLEEPING, PROC_ZOMBIE };

struct proc {
	int pid;
	char name[PROC_NAME_MAX];
	enum proc_state state;
	struct aspace as;
	uint64_t kstack_top;   /* TSS.RSP0 and the SYSCALL stack while it runs */
	uint64_t saved_rsp;    /* kernel RSP while switched out */
	int64_t exit_status;
	bool killed;
	struct fault_record kill; /* why it was killed */
	uint64_t syscalls;
	uint64_t wake_tsc;     /* PROC_SLEEPING: runnable again once the TSC reaches it */
	uint64_t preemptions;  /* times the timer took the CPU from it */
	bool daemon;           /* sched_run does not wait for it: killed once only daemons remain */
};

/* An embedded program image (guest/user/programs.asm). */
struct user_program {
	const char *name;
	const uint8_t *image;
	uint64_t size;
};
extern const struct user_program user_programs[];
extern const uint64_t user_program_count;

/* The process running on this CPU; NULL while the kernel itself (its scheduler, a test) runs. */
static inline struct proc *proc_current(void)
{
	struct proc *p;
	__asm__ volatile("mov %%gs:%c1, %0" : "=r"(p) : "i"(CPU_OFF_CURRENT));
	return p;
}
#define current (proc_current())

/* pids of the processes that called SYS_YIELD, in order (for the tests). */
extern int sched_trace[SCHED_TRACE_MAX];
extern unsigned sched_trace_len;

/* Loads a program into a fresh address space; RDI = arg0, RSI = arg1 at entry. NULL on failure. */
struct proc *proc_spawn(const char *program, uint64_t arg0, uint64_t arg1);
void sched_run(void);                        /* runs processes until none is runnable */
/*
 * Preemption: with a quantum (TSC cycles, 0: cooperative), sched_run runs the local APIC timer
 * periodically and each tick takes the CPU from a process in ring 3 (round robin).
 */
extern uint64_t sched_quantum;
extern uint64_t sched_idle_halts; /* HLTs of the idle scheduler (nothing runnable, someone asleep) */
void proc_sleep(uint64_t cycles);            /* SYS_SLEEP: blocks the caller for at least `cycles` TSC cycles */
void sched_timer_tick(struct trap_frame *f); /* the timer's handler: EOI, then preempt a ring-3 process */
void proc_reap(struct proc *p);              /* frees a zombie (or never-run) process */
void proc_yield(void);
__attribute__((noreturn)) void proc_exit(int64_t status);
__attribute__((noreturn)) void proc_kill(const struct trap_frame *f, uint64_t cr2);

/* entry.asm */
void context_switch(uint64_t *save_rsp, uint64_t new_rsp);
void enter_user_first(void); /* the first "return" of a new process */
int user_copy(void *dst, const void *src, uint64_t n); /* 0, or -1 on an unresolvable fault */

/* syscall.c */
void syscall_init(void);

#endif
