/*
 * Processes and the per-CPU round-robin schedulers.
 *
 * A process is an embedded ELF program loaded into fresh frames of its own address space, with a
 * kernel stack of its own.  It is placed on one CPU when it is spawned (the least loaded; it
 * never moves) and queued on that CPU's run queue (struct cpu_sched, guest/include/guest/percpu.h).
 * Each CPU's scheduler is its kernel's own thread of control: it switches to the process at the
 * head of its queue, which runs until it yields, sleeps, exits or is killed, or (with a quantum,
 * sched_quantum) until this CPU's local APIC timer ticks in ring 3, and switches back (limited
 * direct execution: the timer is how the kernel regains control from a program that never
 * yields).  An AP's scheduler is its idle loop (sched_cpu_loop); the bootstrap processor's runs in
 * sched_run, which the tests call.  A CPU with nothing to run halts (STI; HLT) until its timer
 * ticks or another CPU kicks it (VECTOR_SCHED_KICK: new work, a daemon to kill, a process ended).
 *
 * Locks: the process table (slots, pids, the finished state), each run queue, the frame allocator
 * (guest/frame.c), the console.  Kernel code runs with interrupts off (interrupt gates, SYSCALL's
 * FMASK), except in the idle HLT; a process's fields that only its CPU changes need no lock.
 */
#include <string.h>
#include "guest/abi.h"
#include "guest/apic.h"
#include "guest/kernel.h"
#include "guest/layout.h"
#include "guest/priv.h"
#include "guest/proc.h"
#include "guest/smp.h"
#include "guest/spinlock.h"

/* ELF64 definitions shared with the monitor's loader (header only). */
#include "vmm/elf.h"

static const char elf_magic[ELF_MAG_LEN] = { ELF_MAG0, ELF_MAG1, ELF_MAG2, ELF_MAG3 };

#define RFLAGS_RESERVED1 (1ull << 1) /* always 1 (SDM Vol. 1 3.4.3) */
#define USER_RFLAGS_IF   (1ull << 9)  /* ring 3 runs with interrupts on: the timer can preempt it */
#define USER_STACK_PREMAP_PAGES 2    /* mapped at load; the rest of the stack is demand-paged */
#define CONTEXT_SAVED_REGS 6          /* rbp, rbx, r12..r15: what context_switch pops */
#define PROC_KILLED_STATUS (-1)

int sched_trace[SCHED_TRACE_MAX];
volatile unsigned sched_trace_len;

static struct proc procs[MAX_PROCS];
static uint8_t kstacks[MAX_PROCS][KSTACK_SIZE] __attribute__((aligned(16)));
static struct spinlock table_lock = SPINLOCK_INIT; /* procs[]: slots, pids, PROC_NEW/ZOMBIE/FREE, placement */
static struct spinlock rq_locks[GUEST_MAX_CPUS];  /* each CPU's run queue: head, tail, rq_next */
static int next_pid = 1;
static unsigned place_cursor;             /* round robin among equally loaded CPUs */
static volatile uint64_t sched_waiters;   /* CPUs in sched_run (bit n: CPU n): kicked when a process ends */
volatile uint64_t sched_quantum;
volatile uint64_t sched_idle_halts;

static inline enum proc_state state_of(const struct proc *p)
{
	return __atomic_load_n(&p->state, __ATOMIC_ACQUIRE);
}

static inline void set_state(struct proc *p, enum proc_state st)
{
	__atomic_store_n(&p->state, st, __ATOMIC_RELEASE);
}

static inline bool state_live(enum proc_state st)
{
	return st == PROC_RUNNABLE || st == PROC_RUNNING || st == PROC_SLEEPING || st == PROC_EXITING;
}

static const struct user_program *find_program(const char *name)
{
	for (uint64_t i = 0; i < user_program_count; i++)
		if (strcmp(user_programs[i].name, name) == 0)
			return &user_programs[i];
	return NULL;
}

/* Copies bytes into an address space that need not be the active one, through the identity map. */
static int copy_into(const struct aspace *as, uint64_t va, const uint8_t *src, uint64_t n)
{
	while (n) {
		struct pt_walk w;
		if (!pt_lookup(as->cr3, va, &w))
			return SYS_ERR_FAULT;
		uint64_t chunk = PAGE_SIZE - (va & ~PAGE_MASK);
		if (chunk > n)
			chunk = n;
		memcpy(phys_to_virt(w.pa), src, chunk);
		va += chunk, src += chunk, n -= chunk;
	}
	return 0;
}

static const char *load_elf(struct aspace *as, const struct user_program *prog, uint64_t *entry)
{
	const struct elf64_ehdr *eh = (const void *)prog->image;
	if (prog->size < sizeof(*eh) || memcmp(eh->e_ident, elf_magic, ELF_MAG_LEN) || eh->e_ident[ELF_EI_CLASS] != ELF_CLASS64 ||
	    eh->e_ident[ELF_EI_DATA] != ELF_DATA2LSB || eh->e_type != ELF_ET_EXEC || eh->e_machine != ELF_EM_X86_64)
		return "not an x86-64 ELF executable";
	if (eh->e_phentsize != sizeof(struct elf64_phdr) || eh->e_phoff > prog->size ||
	    eh->e_phnum > (prog->size - eh->e_phoff) / sizeof(struct elf64_phdr))
		return "bad program headers";
	bool entry_ok = false;
	for (unsigned i = 0; i < eh->e_phnum; i++) {
		const struct elf64_phdr *ph = (const void *)(prog->image + eh->e_phoff + i * sizeof(*ph));
		if (ph->p_type != ELF_PT_LOAD || !ph->p_memsz)
			continue;
		if (ph->p_filesz > ph->p_memsz || ph->p_offset > prog->size || ph->p_filesz > prog->size - ph->p_offset)
			return "segment outside the file";
		if (ph->p_vaddr < USER_TEXT || ph->p_memsz > USER_MMAP_BASE - ph->p_vaddr)
			return "segment outside the program area";
		const uint64_t start = ALIGN_DOWN(ph->p_vaddr, PAGE_SIZE);
		const uint64_t end = ALIGN_UP(ph->p_vaddr + ph->p_memsz, PAGE_SIZE);
		const uint32_t flags = VMA_USER | (ph->p_flags & ELF_PF_W ? VMA_WRITE : 0) | (ph->p_flags & ELF_PF_X ? VMA_EXEC : 0);
		if (aspace_add_region(as, start, end, flags, true))
			return "segments overlap, or out of frames";
		if (copy_into(as, ph->p_vaddr, prog->image + ph->p_offset, ph->p_filesz))
			return "copy failed";
		if ((flags & VMA_EXEC) && eh->e_entry >= ph->p_vaddr && eh->e_entry < ph->p_vaddr + ph->p_memsz)
			entry_ok = true;
	}
	if (!entry_ok)
		return "the entry point is not in an executable segment";
	*entry = eh->e_entry;
	return NULL;
}

static const char *setup_stack(struct aspace *as)
{
	if (aspace_add_region(as, USER_STACK_TOP - USER_STACK_SIZE, USER_STACK_TOP, VMA_USER | VMA_WRITE, false))
		return "no room for the stack";
	for (unsigned i = 1; i <= USER_STACK_PREMAP_PAGES; i++) {
		uint64_t f = frame_alloc();
		if (!f || pt_map(as->cr3, USER_STACK_TOP - i * PAGE_SIZE, f, vma_pte_flags(VMA_USER | VMA_WRITE))) {
			if (f)
				frame_free(f);
			return "out of frames for the stack";
		}
	}
	return NULL;
}

/* ---- run queues ---- */

static void rq_push(struct cpu *c, struct proc *p)
{
	const uint64_t flags = spin_lock_irqsave(&rq_locks[c->index]);
	p->rq_next = NULL;
	if (c->sched.tail)
		c->sched.tail->rq_next = p;
	else
		c->sched.head = p;
	c->sched.tail = p;
	spin_unlock_irqrestore(&rq_locks[c->index], flags);
}

static struct proc *rq_pop(struct cpu *c)
{
	const uint64_t flags = spin_lock_irqsave(&rq_locks[c->index]);
	struct proc *p = c->sched.head;
	if (p) {
		c->sched.head = p->rq_next;
		if (!c->sched.head)
			c->sched.tail = NULL;
		p->rq_next = NULL;
	}
	spin_unlock_irqrestore(&rq_locks[c->index], flags);
	return p;
}

static void rq_remove(struct cpu *c, struct proc *p)
{
	const uint64_t flags = spin_lock_irqsave(&rq_locks[c->index]);
	for (struct proc **link = &c->sched.head, *prev = NULL; *link; prev = *link, link = &(*link)->rq_next) {
		if (*link != p)
			continue;
		*link = p->rq_next;
		if (c->sched.tail == p)
			c->sched.tail = prev;
		p->rq_next = NULL;
		break;
	}
	spin_unlock_irqrestore(&rq_locks[c->index], flags);
}

/* ---- kicks ---- */

static void kick(unsigned cpu)
{
	if (cpu != this_cpu_index())
		smp_send_ipi(cpu, VECTOR_SCHED_KICK);
}

/* A process ended: every CPU waiting in sched_run looks again. */
static void kick_waiters(void)
{
	const uint64_t w = __atomic_load_n(&sched_waiters, __ATOMIC_ACQUIRE) & ~(1ull << this_cpu_index());
	for (unsigned i = 0; i < cpu_count && i < GUEST_MAX_CPUS; i++)
		if (w & (1ull << i))
			kick(i);
}

/* ---- placement ---- */

bool sched_cpu_usable(unsigned cpu)
{
	if (cpu == 0)
		return true; /* the bootstrap processor runs its processes in sched_run */
	return smp_cpu_usable(cpu) && __atomic_load_n(&cpu_table[cpu]->sched.running, __ATOMIC_ACQUIRE);
}

/* The least loaded usable CPU; a tie goes to this CPU, else to the next after the last chosen.  Table lock held. */
static unsigned place(void)
{
	const unsigned me = this_cpu_index(), n = cpu_count;
	uint32_t least = ~0u;
	for (unsigned i = 0; i < n; i++)
		if (sched_cpu_usable(i) && cpu_table[i]->sched.load < least)
			least = cpu_table[i]->sched.load;
	if (sched_cpu_usable(me) && cpu_table[me]->sched.load == least)
		return me;
	for (unsigned k = 0; k < n; k++) {
		const unsigned i = (place_cursor + k) % n;
		if (sched_cpu_usable(i) && cpu_table[i]->sched.load == least) {
			place_cursor = (i + 1) % n;
			return i;
		}
	}
	return 0;
}

/* ---- spawning ---- */

struct proc *proc_spawn_on(unsigned cpu, const char *program, uint64_t arg0, uint64_t arg1)
{
	const struct user_program *prog = find_program(program);
	if (!prog) {
		kprintf("kernel: no program named '%s'\n", program);
		return NULL;
	}
	if (cpu != PROC_CPU_ANY && (cpu >= cpu_count || !sched_cpu_usable(cpu))) {
		kprintf("kernel: CPU %u takes no processes: '%s' not started\n", cpu, program);
		return NULL;
	}
	uint64_t flags = spin_lock_irqsave(&table_lock);
	unsigned slot = 0;
	while (slot < MAX_PROCS && procs[slot].state != PROC_FREE)
		slot++;
	if (slot == MAX_PROCS) {
		spin_unlock_irqrestore(&table_lock, flags);
		kprintf("kernel: no free process slot for '%s'\n", program);
		return NULL;
	}
	struct proc *p = &procs[slot];
	memset(p, 0, sizeof(*p));
	p->state = PROC_NEW;
	p->pid = next_pid++;
	spin_unlock_irqrestore(&table_lock, flags);

	uint64_t entry = 0;
	const char *why = aspace_create(&p->as) ? "out of frames for the page tables" : NULL;
	if (!why)
		why = load_elf(&p->as, prog, &entry);
	if (!why)
		why = setup_stack(&p->as);
	if (why) {
		kprintf("kernel: cannot load '%s': %s\n", program, why);
		aspace_destroy(&p->as);
		set_state(p, PROC_FREE);
		return NULL;
	}
	for (unsigned i = 0; i + 1 < PROC_NAME_MAX && program[i]; i++)
		p->name[i] = program[i];
	p->kstack_top = (uint64_t)(uintptr_t)(kstacks[slot] + KSTACK_SIZE);

	/* What context_switch pops, then enter_user_first's arguments and IRET frame (SDM Vol. 3A 6.14.3). */
	uint64_t *sp = (uint64_t *)(uintptr_t)p->kstack_top;
	*--sp = SEL_USER_DATA;
	*--sp = USER_STACK_TOP;
	*--sp = RFLAGS_RESERVED1 | USER_RFLAGS_IF;
	*--sp = SEL_USER_CODE;
	*--sp = entry;
	*--sp = arg1;
	*--sp = arg0;
	*--sp = (uint64_t)(uintptr_t)enter_user_first;
	for (unsigned i = 0; i < CONTEXT_SAVED_REGS; i++)
		*--sp = 0;
	p->saved_rsp = (uint64_t)(uintptr_t)sp;

	irq_set_handler(VECTOR_SCHED_KICK, sched_kick_handler);
	flags = spin_lock_irqsave(&table_lock);
	p->cpu = cpu == PROC_CPU_ANY ? place() : cpu;
	struct cpu *c = cpu_table[p->cpu];
	__atomic_fetch_add(&c->sched.load, 1, __ATOMIC_ACQ_REL);
	set_state(p, PROC_RUNNABLE);
	rq_push(c, p);
	spin_unlock_irqrestore(&table_lock, flags);
	kick(p->cpu);
	return p;
}

struct proc *proc_spawn(const char *program, uint64_t arg0, uint64_t arg1)
{
	return proc_spawn_on(PROC_CPU_ANY, program, arg0, arg1);
}

/* ---- the end of a process ---- */

/* Its CPU has left it for good: free its memory, then say it finished (this CPU's process). */
static void proc_finish(struct cpu *c, struct proc *p)
{
	aspace_destroy(&p->as); /* switches to the kernel's CR3 first if it is loaded */
	p->end_tsc = tsc_now();
	const uint64_t flags = spin_lock_irqsave(&table_lock);
	set_state(p, PROC_ZOMBIE);
	__atomic_fetch_sub(&c->sched.load, 1, __ATOMIC_ACQ_REL);
	spin_unlock_irqrestore(&table_lock, flags);
	kick_waiters();
}

/* A process of this CPU's that is not running (queued or asleep) is killed, as by a signal. */
static void kill_idle_proc(struct cpu *c, struct proc *p)
{
	p->killed = true;
	p->exit_status = PROC_KILLED_STATUS;
	proc_finish(c, p);
}

/* ---- one CPU's scheduler ---- */

/* The timer as sched_quantum says, while this CPU has processes of its own; stopped otherwise. */
static void timer_follow(struct cpu *c)
{
	const uint64_t want = apic_ready() && __atomic_load_n(&c->sched.load, __ATOMIC_ACQUIRE) ? sched_quantum : 0;
	if (want == c->sched.timer_quantum)
		return;
	if (want) {
		irq_set_handler(VECTOR_TIMER, sched_timer_tick);
		apic_timer_periodic(VECTOR_TIMER, (uint32_t)want);
	} else {
		apic_timer_stop();
	}
	c->sched.timer_quantum = want;
}

/* This CPU's sleepers whose time has come (or that are to be killed) leave their sleep; true if any still sleeps. */
static bool wake_sleepers(struct cpu *c)
{
	bool sleeping = false;
	const uint64_t now = tsc_now();
	for (unsigned i = 0; i < MAX_PROCS; i++) {
		struct proc *p = &procs[i];
		if (state_of(p) != PROC_SLEEPING || p->cpu != c->index)
			continue; /* only this CPU puts its processes to sleep */
		if (p->kill_pending) {
			kill_idle_proc(c, p);
		} else if (now >= p->wake_tsc) {
			set_state(p, PROC_RUNNABLE);
			rq_push(c, p);
		} else {
			sleeping = true;
		}
	}
	return sleeping;
}

static void run_proc(struct cpu *c, struct proc *p)
{
	set_state(p, PROC_RUNNING);
	if (!p->start_tsc)
		p->start_tsc = tsc_now();
	c->cur_proc = p;
	c->sched.switches++;
	aspace_activate(&p->as);
	tss_set_kernel_stack(p->kstack_top);
	c->syscall_rsp = p->kstack_top;
	context_switch(&c->sched.scheduler_rsp, p->saved_rsp);
	c->cur_proc = NULL;
	switch (state_of(p)) {
	case PROC_RUNNING: /* it yielded, or the timer took the CPU: the back of the queue */
		set_state(p, PROC_RUNNABLE);
		rq_push(c, p);
		break;
	case PROC_EXITING:
		proc_finish(c, p);
		break;
	default: /* PROC_SLEEPING: wake_sleepers queues it again */
		break;
	}
}

/* One round: the timer, the sleepers, the head of the queue.  False when there was nothing to run. */
static bool sched_step(struct cpu *c, bool *sleepers)
{
	timer_follow(c);
	*sleepers = wake_sleepers(c);
	struct proc *p = rq_pop(c);
	if (!p)
		return false;
	if (p->kill_pending)
		kill_idle_proc(c, p);
	else
		run_proc(c, p);
	return true;
}

/*
 * Nothing to run: halt until an interrupt, with interrupts on for that one instruction (STI's
 * shadow: a kick already pending is taken after the HLT, so none is lost).  With a sleeper of its
 * own and no timer to wake it, the CPU polls instead.
 */
static void idle(struct cpu *c, bool sleepers)
{
	if (sleepers && !c->sched.timer_quantum) {
		cpu_relax();
		return;
	}
	c->sched.idle_halts++;
	__atomic_fetch_add(&sched_idle_halts, 1, __ATOMIC_RELAXED);
	ledger_add(EXIT_REASON_HLT, 1);
	__asm__ volatile("sti; hlt; cli" ::: "memory");
}

void sched_cpu_loop(void)
{
	struct cpu *c = this_cpu();
	c->sched.active_cr3 = kernel_aspace.cr3; /* what the trampoline loaded */
	irq_set_handler(VECTOR_SCHED_KICK, sched_kick_handler);
	__atomic_store_n(&c->sched.running, true, __ATOMIC_RELEASE);
	for (;;) {
		bool sleepers;
		if (!sched_step(c, &sleepers))
			idle(c, sleepers);
	}
}

/* ---- the bootstrap processor's scheduler, for the tests ---- */

struct census {
	unsigned live, workers; /* processes not finished; those of them that are not daemons */
};

static struct census census(void)
{
	struct census n = { 0, 0 };
	const uint64_t flags = spin_lock_irqsave(&table_lock);
	for (unsigned i = 0; i < MAX_PROCS; i++) {
		if (!state_live(procs[i].state))
			continue;
		n.live++;
		n.workers += !procs[i].daemon;
	}
	spin_unlock_irqrestore(&table_lock, flags);
	return n;
}

/* Only daemons are left: they never end by themselves, so their CPUs kill them (as by a signal). */
static void kill_daemons(void)
{
	for (unsigned i = 0; i < MAX_PROCS; i++) {
		struct proc *p = &procs[i];
		if (!p->daemon || !state_live(state_of(p)) || p->kill_pending)
			continue;
		p->kill_pending = true;
		kick(p->cpu); /* not this CPU: its scheduler is here, and kills its own at its next step */
	}
}

void sched_run(void)
{
	uint64_t flags;
	__asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) :: "memory");
	struct cpu *c = this_cpu();
	irq_set_handler(VECTOR_SCHED_KICK, sched_kick_handler);
	__atomic_fetch_or(&sched_waiters, 1ull << c->index, __ATOMIC_ACQ_REL);
	for (;;) {
		/* First: a daemon is always runnable, and this CPU's would run forever. */
		const struct census n = census();
		if (!n.live)
			break;
		if (!n.workers)
			kill_daemons(); /* this CPU's own: killed in the step below, not run */
		bool sleepers;
		if (!sched_step(c, &sleepers))
			idle(c, sleepers); /* what is left runs elsewhere, or sleeps */
	}
	timer_follow(c); /* nothing left here: stops it */
	__atomic_fetch_and(&sched_waiters, ~(1ull << c->index), __ATOMIC_ACQ_REL);
	aspace_activate(&kernel_aspace);
	if (flags & RFLAGS_IF_BIT)
		__asm__ volatile("sti" ::: "memory");
}

/* ---- entries from a running process ---- */

void sched_timer_tick(struct trap_frame *f)
{
	apic_eoi(); /* first: the next tick must not wait behind this one in the ISR (SDM 11.8.5) */
	struct cpu *c = this_cpu();
	c->sched.ticks++;
	struct proc *p = c->cur_proc;
	if (!p || (f->cs & SELECTOR_RPL_USER) != SELECTOR_RPL_USER)
		return; /* the idle scheduler, or the kernel on a process's behalf: not preempted */
	if (p->kill_pending) {
		p->killed = true;
		proc_exit(PROC_KILLED_STATUS);
	}
	p->preemptions++;
	c->sched.preemptions++;
	context_switch(&p->saved_rsp, c->sched.scheduler_rsp); /* still running: resumes here, then IRETQ */
}

void sched_kick_handler(struct trap_frame *f)
{
	apic_eoi();
	struct cpu *c = this_cpu();
	c->sched.kicks++;
	struct proc *p = c->cur_proc;
	if (p && p->kill_pending && (f->cs & SELECTOR_RPL_USER) == SELECTOR_RPL_USER) {
		p->killed = true;
		proc_exit(PROC_KILLED_STATUS);
	}
	/* Otherwise the CPU was idle (its loop looks at its queue next) or runs a process: nothing to do here. */
}

void proc_sleep(uint64_t cycles)
{
	struct proc *p = current;
	p->wake_tsc = tsc_now() + cycles;
	set_state(p, PROC_SLEEPING);
	context_switch(&p->saved_rsp, this_cpu()->sched.scheduler_rsp);
}

void proc_yield(void)
{
	struct proc *p = current;
	unsigned i = __atomic_load_n(&sched_trace_len, __ATOMIC_RELAXED);
	while (i < SCHED_TRACE_MAX &&
	       !__atomic_compare_exchange_n(&sched_trace_len, &i, i + 1, false, __ATOMIC_ACQ_REL, __ATOMIC_RELAXED))
		;
	if (i < SCHED_TRACE_MAX)
		sched_trace[i] = p->pid;
	context_switch(&p->saved_rsp, this_cpu()->sched.scheduler_rsp);
}

void proc_exit(int64_t status)
{
	struct proc *p = current;
	p->exit_status = status;
	set_state(p, PROC_EXITING);
	context_switch(&p->saved_rsp, this_cpu()->sched.scheduler_rsp);
	panic("a dead process was scheduled");
}

void proc_kill(const struct trap_frame *f, uint64_t cr2)
{
	struct proc *p = current;
	p->killed = true;
	p->kill = (struct fault_record){ 1, f->vector, f->error_code, cr2, f->rip };
	console_lock(); /* one line from three calls */
	kprintf("kernel: killed pid %d (%s): %s, error code %#llx, at rip %#llx", p->pid, p->name,
		exception_vector_name(f->vector), (unsigned long long)f->error_code, (unsigned long long)f->rip);
	if (f->vector == VECTOR_PF)
		kprintf(", address %#llx", (unsigned long long)cr2);
	if (this_cpu_index())
		kprintf(" (CPU %u)", this_cpu_index());
	kprintf("\n");
	console_unlock();
	proc_exit(PROC_KILLED_STATUS);
}

/* ---- reaping ---- */

#define REAP_TIMEOUT_MS 2000

void proc_reap(struct proc *p)
{
	if (!p)
		return;
	const unsigned me = this_cpu_index();
	enum proc_state st = state_of(p);
	if (state_live(st) && p->cpu == me && st != PROC_RUNNING && st != PROC_EXITING) {
		/* Never run, or asleep, on this CPU (which runs the kernel now, not the process). */
		if (st == PROC_RUNNABLE)
			rq_remove(this_cpu(), p);
		p->exit_status = PROC_KILLED_STATUS;
		p->killed = true;
		proc_finish(this_cpu(), p);
	} else if (state_live(st)) {
		/* Alive on another CPU: that CPU kills it (at its next kick, tick or round). */
		p->kill_pending = true;
		kick(p->cpu);
		const uint64_t start = tsc_now(), limit = tsc_hz ? tsc_cycles_ms(REAP_TIMEOUT_MS) : ~0ull;
		while (state_of(p) != PROC_ZOMBIE)
			if (tsc_now() - start > limit)
				panic("pid %d (%s) on CPU %u did not die within %u ms", p->pid, p->name, p->cpu, REAP_TIMEOUT_MS);
			else
				cpu_relax();
	}
	aspace_destroy(&p->as); /* nothing left after proc_finish */
	const uint64_t flags = spin_lock_irqsave(&table_lock);
	p->state = PROC_FREE;
	spin_unlock_irqrestore(&table_lock, flags);
}
