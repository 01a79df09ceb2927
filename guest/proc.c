/*
 * Processes and the round-robin scheduler.
 *
 * A process is an embedded ELF program loaded into fresh frames of its own
 * address space, with a kernel stack of its own.  The scheduler is the
 * kernel's own thread of control: it switches to a runnable process, which
 * runs until it yields, sleeps, exits or is killed, and switches back.  With
 * a quantum (sched_quantum) the local APIC timer ticks periodically and each
 * tick in ring 3 takes the CPU back (limited direct execution: the timer is
 * how the kernel regains control from a program that never yields).
 */
#include <string.h>
#include "guest/abi.h"
#include "guest/apic.h"
#include "guest/kernel.h"
#include "guest/layout.h"
#include "guest/priv.h"
#include "guest/proc.h"

/* ELF64 definitions shared with the monitor's loader (header only). */
#include "vmm/elf.h"

static const char elf_magic[ELF_MAG_LEN] = { ELF_MAG0, ELF_MAG1, ELF_MAG2, ELF_MAG3 };

#define RFLAGS_RESERVED1 (1ull << 1) /* always 1 (SDM Vol. 1 3.4.3) */
#define USER_RFLAGS_IF   (1ull << 9)  /* ring 3 runs with interrupts on: the timer can preempt it */
#define USER_STACK_PREMAP_PAGES 2    /* mapped at load; the rest of the stack is demand-paged */
#define CONTEXT_SAVED_REGS 6          /* rbp, rbx, r12..r15: what context_switch pops */
#define PROC_KILLED_STATUS (-1)

int sched_trace[SCHED_TRACE_MAX];
unsigned sched_trace_len;

static struct proc procs[MAX_PROCS];
static uint8_t kstacks[MAX_PROCS][KSTACK_SIZE] __attribute__((aligned(16)));
static uint64_t scheduler_rsp;
static unsigned sched_cursor;
static int next_pid = 1;
uint64_t sched_quantum;
uint64_t sched_idle_halts;

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

struct proc *proc_spawn(const char *program, uint64_t arg0, uint64_t arg1)
{
	const struct user_program *prog = find_program(program);
	if (!prog) {
		kprintf("kernel: no program named '%s'\n", program);
		return NULL;
	}
	unsigned slot = 0;
	while (slot < MAX_PROCS && procs[slot].state != PROC_FREE)
		slot++;
	if (slot == MAX_PROCS) {
		kprintf("kernel: no free process slot for '%s'\n", program);
		return NULL;
	}
	struct proc *p = &procs[slot];
	memset(p, 0, sizeof(*p));
	uint64_t entry = 0;
	const char *why = aspace_create(&p->as) ? "out of frames for the page tables" : NULL;
	if (!why)
		why = load_elf(&p->as, prog, &entry);
	if (!why)
		why = setup_stack(&p->as);
	if (why) {
		kprintf("kernel: cannot load '%s': %s\n", program, why);
		aspace_destroy(&p->as);
		return NULL;
	}
	p->pid = next_pid++;
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
	p->state = PROC_RUNNABLE;
	return p;
}

/* Sleepers whose time has come are runnable again; true if any process still sleeps. */
static bool wake_sleepers(void)
{
	bool sleeping = false;
	const uint64_t now = tsc_now();
	for (unsigned i = 0; i < MAX_PROCS; i++) {
		if (procs[i].state != PROC_SLEEPING)
			continue;
		if (now >= procs[i].wake_tsc)
			procs[i].state = PROC_RUNNABLE;
		else
			sleeping = true;
	}
	return sleeping;
}

static struct proc *pick_next(bool *only_daemons)
{
	*only_daemons = true;
	for (unsigned i = 0; i < MAX_PROCS; i++)
		if ((procs[i].state == PROC_RUNNABLE || procs[i].state == PROC_SLEEPING) && !procs[i].daemon)
			*only_daemons = false;
	for (unsigned i = 0; i < MAX_PROCS; i++) {
		unsigned s = (sched_cursor + i) % MAX_PROCS;
		if (procs[s].state == PROC_RUNNABLE) {
			sched_cursor = s + 1;
			return &procs[s];
		}
	}
	return NULL;
}

/* Only daemons are left: they never end by themselves, so they are killed (as by a signal). */
static void kill_daemons(void)
{
	for (unsigned i = 0; i < MAX_PROCS; i++) {
		struct proc *p = &procs[i];
		if (p->daemon && (p->state == PROC_RUNNABLE || p->state == PROC_SLEEPING)) {
			p->state = PROC_ZOMBIE;
			p->killed = true;
			p->exit_status = PROC_KILLED_STATUS;
			aspace_destroy(&p->as);
		}
	}
}

void sched_run(void)
{
	const bool preemptive = sched_quantum && apic_ready();
	if (preemptive) {
		irq_set_handler(VECTOR_TIMER, sched_timer_tick);
		apic_timer_periodic(VECTOR_TIMER, (uint32_t)sched_quantum);
	}
	for (;;) {
		const bool sleeping = wake_sleepers();
		bool only_daemons;
		struct proc *p = pick_next(&only_daemons);
		if (only_daemons) {
			kill_daemons();
			break;
		}
		if (!p && sleeping) {
			/* Idle: halt until the next interrupt (the timer), with interrupts on for that one instruction. */
			if (preemptive) {
				sched_idle_halts++;
				ledger_add(EXIT_REASON_HLT, 1);
				__asm__ volatile("sti; hlt; cli" ::: "memory");
			}
			continue;
		}
		if (!p)
			break;
		struct cpu *c = this_cpu();
		c->cur_proc = p;
		aspace_activate(&p->as);
		tss_set_kernel_stack(p->kstack_top); /* this CPU's TSS */
		c->syscall_rsp = p->kstack_top;      /* %gs:CPU_OFF_SYSCALL_RSP, for SYSCALL */
		context_switch(&scheduler_rsp, p->saved_rsp);
		c->cur_proc = NULL;
		if (p->state == PROC_ZOMBIE)
			aspace_destroy(&p->as); /* switches to the kernel's CR3 first */
	}
	if (preemptive)
		apic_timer_stop();
	aspace_activate(&kernel_aspace);
}

void sched_timer_tick(struct trap_frame *f)
{
	apic_eoi(); /* first: the next tick must not wait behind this one in the ISR (SDM 11.8.5) */
	if (!current || (f->cs & SELECTOR_RPL_USER) != SELECTOR_RPL_USER)
		return; /* the idle scheduler, or the kernel on a process's behalf: not preempted */
	current->preemptions++;
	context_switch(&current->saved_rsp, scheduler_rsp); /* still runnable: resumes here, then IRETQ */
}

void proc_sleep(uint64_t cycles)
{
	struct proc *p = current;
	p->wake_tsc = tsc_now() + cycles;
	p->state = PROC_SLEEPING;
	context_switch(&p->saved_rsp, scheduler_rsp);
}

void proc_reap(struct proc *p)
{
	if (!p)
		return;
	aspace_destroy(&p->as);
	p->state = PROC_FREE;
}

void proc_yield(void)
{
	struct proc *p = current;
	if (sched_trace_len < SCHED_TRACE_MAX)
		sched_trace[sched_trace_len++] = p->pid;
	context_switch(&p->saved_rsp, scheduler_rsp);
}

void proc_exit(int64_t status)
{
	struct proc *p = current;
	p->state = PROC_ZOMBIE;
	p->exit_status = status;
	context_switch(&p->saved_rsp, scheduler_rsp);
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
	kprintf("\n");
	console_unlock();
	proc_exit(PROC_KILLED_STATUS);
}
