/*
 * The per-CPU schedulers (guest/proc.c) with several CPUs: ring-3 programs spread over every CPU
 * that takes processes, each scheduled by its own CPU, preempted by that CPU's own local APIC
 * timer, its system calls and page faults served there.  SKIP with one CPU.  It runs before
 * tests_smp(), whose last test keeps an AP for good.
 */
#include <vmm/format.h>
#include "guest/abi.h"
#include "guest/apic.h"
#include "guest/kernel.h"
#include "guest/layout.h"
#include "guest/proc.h"
#include "guest/smp.h"
#include "guest/tests.h"

/*
 * The schedulers' tick while the programs run (the timer's count: TSC cycles under the monitor,
 * the bus clock without it).  Each program works until its CPU's timer has preempted it once.
 */
#define SPREAD_QUANTUM 300000u

static bool ran_on_one_cpu(const struct proc *p, char *d, size_t cap)
{
	const uint64_t mine = 1ull << p->cpu;
	if (p->syscall_cpus != mine || p->fault_cpus != mine) {
		hv_snprintf(d, cap, "pid %d placed on CPU %u: system calls on CPUs %#llx, page faults on CPUs %#llx", p->pid,
			    p->cpu, (unsigned long long)p->syscall_cpus, (unsigned long long)p->fault_cpus);
		return false;
	}
	return true;
}

static void test_user_programs_spread(void)
{
	const char *name = "smp_user_programs_spread";
	uint64_t usable = 0;
	unsigned cpus = 0;
	for (unsigned i = 0; i < cpu_count && i < GUEST_MAX_CPUS; i++)
		if (sched_cpu_usable(i))
			usable |= 1ull << i, cpus++;
	if (cpus < 2) {
		test_skip(name, smp_madt_count() > 1 ? "only one CPU takes processes" : "one CPU");
		return;
	}
	if (cpus > MAX_PROCS)
		cpus = MAX_PROCS; /* then not every CPU gets one: the check below says so */

	const bool preempt = apic_ready();
	const uint64_t arg = SEL_USER_DATA | (preempt ? MEMORY_SPREAD_ARG_UNTIL_PREEMPTED : 0);
	struct proc *p[MAX_PROCS] = { 0 };
	char d[DETAIL_MAX] = "";
	bool ok = true;
	sched_quantum = preempt ? SPREAD_QUANTUM : 0;
	for (unsigned i = 0; i < cpus; i++) {
		p[i] = proc_spawn("memory", MEMORY_SPREAD, arg); /* the least loaded CPU: one each */
		if (!p[i] && ok)
			ok = false, hv_snprintf(d, sizeof(d), "cannot start program %u of %u", i + 1, cpus);
	}
	sched_run(); /* this CPU's program, then wait for the others' */
	sched_quantum = 0;

	uint64_t covered = 0, first_end = ~0ull, last_start = 0;
	unsigned covered_n = 0;
	for (unsigned i = 0; i < cpus; i++) {
		const struct proc *q = p[i];
		if (!q)
			continue;
		covered_n += !(covered & (1ull << q->cpu));
		covered |= 1ull << q->cpu;
		if (q->start_tsc > last_start)
			last_start = q->start_tsc;
		if (q->end_tsc < first_end)
			first_end = q->end_tsc;
		if (!ok)
			continue;
		if (q->state != PROC_ZOMBIE)
			ok = false, hv_snprintf(d, sizeof(d), "pid %d on CPU %u did not finish", q->pid, q->cpu);
		else if (q->killed)
			ok = false, hv_snprintf(d, sizeof(d), "pid %d on CPU %u was killed by %s at %#llx", q->pid, q->cpu,
						exception_vector_name(q->kill.vector), (unsigned long long)q->kill.cr2);
		else if (q->exit_status != MEMORY_SPREAD_DONE(q->cpu))
			ok = false, hv_snprintf(d, sizeof(d), "pid %d placed on CPU %u exited with %#llx (CPU %u: %#llx)", q->pid,
						q->cpu, (unsigned long long)q->exit_status, q->cpu,
						(unsigned long long)MEMORY_SPREAD_DONE(q->cpu));
		else if (!ran_on_one_cpu(q, d, sizeof(d)))
			ok = false;
		else if (q->as.demand_faults < MEMORY_SPREAD_PAGES)
			ok = false, hv_snprintf(d, sizeof(d), "pid %d on CPU %u: %llu page faults resolved", q->pid, q->cpu,
						(unsigned long long)q->as.demand_faults);
		else if (preempt && !q->preemptions)
			ok = false, hv_snprintf(d, sizeof(d), "pid %d: CPU %u's timer never preempted it", q->pid, q->cpu);
	}
	if (ok && covered != usable)
		ok = false, hv_snprintf(d, sizeof(d), "programs ran on CPUs %#llx, the CPUs are %#llx", (unsigned long long)covered,
					(unsigned long long)usable);

	console_lock();
	for (unsigned i = 0; i < cpus; i++)
		if (p[i])
			kprintf("%s: CPU %u ran pid %d: %llu system calls, %llu page faults, %llu preemptions, exit %#llx\n", name,
				p[i]->cpu, p[i]->pid, (unsigned long long)p[i]->syscalls,
				(unsigned long long)p[i]->as.demand_faults, (unsigned long long)p[i]->preemptions,
				(unsigned long long)p[i]->exit_status);
	kprintf("%s: the schedulers so far (switches, timer ticks, kicks):", name);
	for (unsigned i = 0; i < cpu_count && i < GUEST_MAX_CPUS; i++)
		if (usable & (1ull << i))
			kprintf(" CPU %u %llu/%llu/%llu", i, (unsigned long long)cpu_table[i]->sched.switches,
				(unsigned long long)cpu_table[i]->sched.ticks, (unsigned long long)cpu_table[i]->sched.kicks);
	kprintf("\n");
	kprintf("%s: %u programs on %u CPUs, %s\n", name, cpus, covered_n,
		last_start < first_end ? "all of them running at once for a while" : "not all of them at once");
	console_unlock();
	for (unsigned i = 0; i < cpus; i++)
		proc_reap(p[i]);
	test_report(name, ok, "%s", d);
}

void tests_sched(void)
{
	test_user_programs_spread();
}
