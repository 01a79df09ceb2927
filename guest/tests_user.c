/*
 * Tests that run user programs in ring 3 (guest/user/): system calls without
 * exits, cooperative scheduling across address spaces, mmap/munmap, demand
 * paging, and protection (the kernel kills a misbehaving program and goes on).
 */
#include <string.h>
#include <vmm/format.h>
#include "guest/abi.h"
#include "guest/hv.h"
#include "guest/kernel.h"
#include "guest/layout.h"
#include "guest/mm.h"
#include "guest/priv.h"
#include "guest/proc.h"
#include "guest/tests.h"

#define ROUND_ROBIN_PROCS  3
#define ROUND_ROBIN_ROUNDS 3
#define VICTIM_VALUE 0x1badc0deull

static volatile uint64_t protect_victim = VICTIM_VALUE; /* kernel data a user program tries to touch */

static const char *const utest_status_names[] = {
#define X(name, value, text) [value] = text,
	UTEST_STATUS_TABLE(X)
#undef X
};

static const char *status_text(int64_t status)
{
	return status >= 0 && (uint64_t)status < ARRAY_SIZE(utest_status_names) && utest_status_names[status]
		       ? utest_status_names[status]
		       : "unknown status";
}

/* Why a finished program did not exit with UTEST_OK; NULL when it did. */
static const char *why_not_ok(const struct proc *p, char *buf, size_t cap)
{
	if (p->state != PROC_ZOMBIE)
		return "it did not finish";
	if (p->killed) {
		hv_snprintf(buf, cap, "killed by %s, error %#llx", exception_vector_name(p->kill.vector),
			    (unsigned long long)p->kill.error_code);
		return buf;
	}
	if (p->exit_status != UTEST_OK) {
		hv_snprintf(buf, cap, "exit status %lld: %s", (long long)p->exit_status, status_text(p->exit_status));
		return buf;
	}
	return NULL;
}

/*
 * Runs one program to its end, on this CPU (the exit windows are this CPU's); NULL if it cannot be
 * loaded.  The caller reaps it.
 */
static struct proc *run_program(const char *program, uint64_t arg0, uint64_t arg1)
{
	struct proc *p = proc_spawn_on(this_cpu_index(), program, arg0, arg1);
	if (p)
		sched_run();
	return p;
}

static void report_program(const char *name, struct proc *p, const struct exit_window *w)
{
	char d[DETAIL_MAX] = "";
	if (!p) {
		test_report(name, false, "cannot load the program");
		return;
	}
	const char *why = why_not_ok(p, d, sizeof(d));
	bool ok = why == NULL;
	if (ok && w && hv_present)
		ok = window_matches_ledger(w, d, sizeof(d));
	test_report(name, ok, "%s", why ? why : d);
	proc_reap(p);
}

/* 10,000 system calls from ring 3 between two counter reads: the counters move by the reading VMCALL only. */
static void test_syscalls(void)
{
	struct exit_window w;
	window_open(&w);
	struct proc *p = run_program("syscalls", SYSCALLS_CHECK, 0);
	window_close(&w);
	if (p && p->syscalls < SYSCALLS_COUNT) {
		test_report("user_10000_syscalls_no_exits", false, "only %llu system calls", (unsigned long long)p->syscalls);
		proc_reap(p);
		return;
	}
	report_program("user_10000_syscalls_no_exits", p, &w);
}

/* Three programs on this CPU yield to each other: round robin, each in its own address space. */
static void test_round_robin(void)
{
	const char *name = "user_round_robin_isolation";
	struct proc *p[ROUND_ROBIN_PROCS];
	struct exit_window w;
	char d[DETAIL_MAX] = "";
	sched_trace_len = 0;
	for (unsigned i = 0; i < ROUND_ROBIN_PROCS; i++) {
		p[i] = proc_spawn_on(this_cpu_index(), "hello", ROUND_ROBIN_ROUNDS, 0);
		if (!p[i]) {
			while (i--)
				proc_reap(p[i]);
			test_report(name, false, "cannot load the programs");
			return;
		}
	}
	bool ok = p[0]->as.cr3 != p[1]->as.cr3 && p[1]->as.cr3 != p[2]->as.cr3 && p[0]->as.cr3 != p[2]->as.cr3;
	if (!ok)
		hv_snprintf(d, sizeof(d), "address spaces share a CR3");
	window_open(&w);
	sched_run();
	window_close(&w);
	for (unsigned i = 0; ok && i < ROUND_ROBIN_PROCS; i++) {
		const char *why = why_not_ok(p[i], d, sizeof(d));
		if (why) {
			ok = false;
			if (why != d)
				hv_snprintf(d, sizeof(d), "%s", why);
		}
	}
	if (ok && sched_trace_len != ROUND_ROBIN_PROCS * ROUND_ROBIN_ROUNDS)
		ok = false, hv_snprintf(d, sizeof(d), "%u yields, expected %u", sched_trace_len,
					ROUND_ROBIN_PROCS * ROUND_ROBIN_ROUNDS);
	/* Round robin: the first round has each process once, and every round repeats it. */
	for (unsigned i = 0; ok && i < ROUND_ROBIN_PROCS; i++)
		for (unsigned j = 0; j < i; j++)
			if (sched_trace[i] == sched_trace[j])
				ok = false, hv_snprintf(d, sizeof(d), "pid %d yielded twice in the first round", sched_trace[i]);
	for (unsigned i = ROUND_ROBIN_PROCS; ok && i < sched_trace_len; i++)
		if (sched_trace[i] != sched_trace[i % ROUND_ROBIN_PROCS])
			ok = false, hv_snprintf(d, sizeof(d), "yield %u came from pid %d, expected pid %d", i, sched_trace[i],
						sched_trace[i % ROUND_ROBIN_PROCS]);
	/* In EPT mode switching address spaces costs no exit: everything the monitor saw is the console. */
	if (ok && hv_present)
		ok = window_matches_ledger(&w, d, sizeof(d));
	test_report(name, ok, "%s", d);
	for (unsigned i = 0; i < ROUND_ROBIN_PROCS; i++)
		proc_reap(p[i]);
}

static void test_memory(void)
{
	struct exit_window w;
	window_open(&w);
	struct proc *p = run_program("memory", MEMORY_MMAP, 0);
	window_close(&w);
	report_program("user_mmap_munmap", p, &w);

	window_open(&w);
	p = run_program("memory", MEMORY_DEMAND, 0);
	window_close(&w);
	if (p && p->as.demand_faults < MEMORY_DEMAND_PAGES) {
		test_report("user_demand_paging", false, "the kernel resolved %llu faults",
			    (unsigned long long)p->as.demand_faults);
		proc_reap(p);
	} else {
		report_program(boot_config.mem_shadow ? "user_demand_paging" : "user_demand_paging_no_exits", p, &w);
	}
}

/*
 * A program that must die: killed by `vector` with `error`, at `cr2` when
 * nonzero; the monitor saw only the exits the kernel caused (so the
 * faulting instruction itself did not exit).
 */
static void expect_killed(const char *name, uint64_t program_arg0, uint64_t program_arg1, const char *program,
			  uint64_t vector, uint64_t error, uint64_t cr2)
{
	struct exit_window w;
	char d[DETAIL_MAX] = "";
	window_open(&w);
	struct proc *p = run_program(program, program_arg0, program_arg1);
	window_close(&w);
	if (!p) {
		test_report(name, false, "cannot load the program");
		return;
	}
	bool ok = p->killed && p->kill.vector == vector && p->kill.error_code == error && (!cr2 || p->kill.cr2 == cr2);
	if (!ok && p->killed)
		hv_snprintf(d, sizeof(d), "killed by %s error %#llx at %#llx; expected vector %llu error %#llx",
			    exception_vector_name(p->kill.vector), (unsigned long long)p->kill.error_code,
			    (unsigned long long)p->kill.cr2, (unsigned long long)vector, (unsigned long long)error);
	else if (!ok)
		hv_snprintf(d, sizeof(d), "not killed: exit status %lld (%s)", (long long)p->exit_status,
			    status_text(p->exit_status));
	else if (hv_present)
		ok = window_matches_ledger(&w, d, sizeof(d));
	test_report(name, ok, "%s", d);
	proc_reap(p);
}

static void test_protection(void)
{
	const uint64_t victim = (uint64_t)(uintptr_t)&protect_victim;
	expect_killed("protect_kernel_write", EVIL_KERNEL_WRITE, victim, "evil", VECTOR_PF, PF_ERR_P | PF_ERR_W | PF_ERR_U,
		      victim);
	test_report("protect_kernel_data_intact", protect_victim == VICTIM_VALUE, "the victim is now %#llx",
		    (unsigned long long)protect_victim);
	expect_killed("protect_kernel_read", EVIL_KERNEL_READ, victim, "evil", VECTOR_PF, PF_ERR_P | PF_ERR_U, victim);
	expect_killed("protect_user_hlt_gp", EVIL_HLT, 0, "evil", VECTOR_GP, 0, 0);
	expect_killed("protect_user_cli_gp", EVIL_CLI, 0, "evil", VECTOR_GP, 0, 0);
	expect_killed("protect_user_out_gp", EVIL_OUT, 0, "evil", VECTOR_GP, 0, 0);
	expect_killed("protect_text_write", EVIL_TEXT_WRITE, 0, "evil", VECTOR_PF, PF_ERR_P | PF_ERR_W | PF_ERR_U, 0);
	if (nx_enabled)
		expect_killed("protect_nx_data", EVIL_EXEC_DATA, 0, "evil", VECTOR_PF, PF_ERR_P | PF_ERR_U | PF_ERR_I, 0);
	else
		test_skip("protect_nx_data", "no NX");
	expect_killed("user_access_after_munmap", MEMORY_UNMAPPED, 0, "memory", VECTOR_PF, PF_ERR_W | PF_ERR_U, 0);

	/* After all those deaths the kernel still runs programs. */
	struct proc *p = run_program("hello", 0, 0);
	report_program("kernel_survives_kills", p, NULL);
}

void tests_user(void)
{
	test_syscalls();
	test_round_robin();
	test_memory();
	test_protection();
}
