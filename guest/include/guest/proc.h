/*
 * Processes: user programs in ring 3, each in its own address space, on every CPU.  Each CPU runs
 * the processes placed on it from its own run queue, cooperatively or preemptively on its own
 * local APIC timer (guest/proc.c).
 */
#ifndef GUEST_PROC_H
#define GUEST_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include "guest/mm.h"
#include "guest/percpu.h"
#include "guest/trap.h"

#define MAX_PROCS      16
#define PROC_NAME_MAX  16
#define SCHED_TRACE_MAX 64
#define PROC_CPU_ANY   (~0u) /* proc_spawn_on: place the process on the least loaded CPU */

/*
 * FREE -> NEW (being loaded) -> RUNNABLE (queued) <-> RUNNING -> EXITING -> ZOMBIE; RUNNING <-> SLEEPING.
 * Only the process's own CPU moves it between RUNNABLE, RUNNING, SLEEPING and EXITING; ZOMBIE is
 * published last, once its CPU has left its kernel stack and freed its address space.
 */
enum proc_state {
	PROC_FREE = 0,
	PROC_RUNNABLE,  /* in its CPU's run queue */
	PROC_SLEEPING,  /* SYS_SLEEP: off the queue until wake_tsc */
	PROC_ZOMBIE,    /* finished: exit_status (and kill) say how; proc_reap frees the slot */
	PROC_NEW,       /* proc_spawn is loading it */
	PROC_RUNNING,   /* on its CPU now */
	PROC_EXITING,   /* exited or killed, its CPU has not yet switched away from it */
};

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
	unsigned cpu;          /* the CPU it was placed on, and runs on until it ends */
	struct proc *rq_next;  /* its CPU's run queue */
	volatile bool kill_pending; /* its CPU kills it at the next chance (a daemon no one waits for) */
	uint64_t syscall_cpus; /* CPUs that served its system calls (bit n: CPU n) */
	uint64_t fault_cpus;   /* CPUs that resolved its page faults */
	uint64_t start_tsc, end_tsc; /* when its CPU first switched to it, and when it finished */
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
extern volatile unsigned sched_trace_len;

/*
 * Loads a program into a fresh address space and queues it; RDI = arg0, RSI = arg1 at entry.
 * NULL on failure.  proc_spawn places it on the least loaded CPU (processes placed and not yet
 * finished; a tie goes to this CPU, else round robin); proc_spawn_on on CPU `cpu`
 * (PROC_CPU_ANY: as proc_spawn).  Another CPU starts it at once; this CPU in sched_run.
 */
struct proc *proc_spawn(const char *program, uint64_t arg0, uint64_t arg1);
struct proc *proc_spawn_on(unsigned cpu, const char *program, uint64_t arg0, uint64_t arg1);
/*
 * Runs this CPU's processes, and waits (halted) for the other CPUs', until no process is left
 * anywhere; once only daemons are left, they are killed.
 */
void sched_run(void);
/* An AP's scheduler loop, from ap_main once it is online: its processes, else STI; HLT. */
__attribute__((noreturn)) void sched_cpu_loop(void);
/* Kernel IPI: an idle CPU looks at its run queue; a CPU running a process to be killed kills it. */
#define VECTOR_SCHED_KICK 0x48u
/*
 * Preemption: with a quantum (TSC cycles, 0: cooperative), a CPU with processes of its own runs
 * its local APIC timer periodically, and each tick takes the CPU from a process in ring 3 (round
 * robin on that CPU).  Every CPU follows the value as it changes.
 */
extern volatile uint64_t sched_quantum;
extern volatile uint64_t sched_idle_halts; /* HLTs of the idle schedulers, every CPU's */
void proc_sleep(uint64_t cycles);            /* SYS_SLEEP: blocks the caller for at least `cycles` TSC cycles */
void sched_timer_tick(struct trap_frame *f); /* the timer's handler: EOI, then preempt a ring-3 process */
void sched_kick_handler(struct trap_frame *f); /* VECTOR_SCHED_KICK: EOI, then kill a process marked for it */
void proc_reap(struct proc *p);              /* frees a zombie (or a never-run process of this CPU's) */
bool sched_cpu_usable(unsigned cpu);         /* 1 when CPU `cpu` takes processes (online, its loop running) */
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
