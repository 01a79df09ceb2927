/* The guest test suite (tests.c, tests_user.c) and the benchmarks (bench.c). */
#ifndef GUEST_TESTS_H
#define GUEST_TESTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <vmm/hypercall.h>

int tests_run(void);  /* prints PASS/FAIL/SKIP lines and SUMMARY; 0 iff no failure */
int bench_run(void);  /* prints BENCH lines and a table; 0 */

/* Test reporting (kvm-unit-tests style). */
#define DETAIL_MAX 160
void test_report(const char *name, bool ok, const char *detail_fmt, ...) __attribute__((format(printf, 3, 4)));
void test_pass(const char *name);
void test_skip(const char *name, const char *reason);
/*
 * Booted without the monitor under QEMU's TCG, a test of what TCG does not emulate (a known gap of
 * the emulator, not of the kernel or the monitor) is skipped naming the gap; true when skipped.
 */
bool skip_on_qemu_tcg(const char *name, const char *gap);

/*
 * An exit window: the monitor's counters (HC_GET_STATS) and the kernel's
 * exit ledger, read before and after an operation.  The closing read is a
 * VMCALL of its own, already counted in the snapshot it returns.
 */
struct exit_window {
	struct hv_stats before, after;
	uint64_t ledger[HV_STATS_REASONS]; /* exit_ledger just after the opening read */
};

struct exit_expect {
	unsigned reason;
	uint64_t count;
};

void window_open(struct exit_window *w);
void window_close(struct exit_window *w);
uint64_t window_delta(const struct exit_window *w, unsigned reason);
/* Exactly the listed exits (plus the closing VMCALL) and nothing else; false with a detail. */
bool window_expect(const struct exit_window *w, const struct exit_expect *e, size_t n, char *detail, size_t cap);
/* Exactly the exits the kernel's ledger says it caused in the window. */
bool window_matches_ledger(const struct exit_window *w, char *detail, size_t cap);
/*
 * Exits no guest instruction causes: an external interrupt taken by the host
 * while the guest runs, the preemption-timer and interrupt-window exits that
 * deliver the guest's own timer interrupts, and (mem=shadow) the #PF and
 * INVLPG exits of shadow paging.  Windows ignore them, apart from the total.
 */
bool exit_reason_is_noise(unsigned reason);
const char *exit_reason_name(unsigned reason);

#define EXPECT_EXITS(w, detail, ...)                                                   \
	window_expect((w), (const struct exit_expect[]){ __VA_ARGS__ },                 \
		      sizeof((const struct exit_expect[]){ __VA_ARGS__ }) / sizeof(struct exit_expect), \
		      (detail), sizeof(detail))
#define NO_EXITS { EXIT_REASON_VMCALL, 0 }

/* tests_user.c: the tests that run user programs. */
void tests_user(void);
/* tests_paging.c: paging and MOV-to-CR0 edge cases (reserved bits, 1 GiB pages, SMAP after CR0.WP=0). */
void tests_paging(void);

/* tests_emul.c: debug traps and faults of emulated instructions, refused hypercalls (issue 14). */
void tests_emul(void);
void run_hypercall_flood(void); /* guest.test=hypercall_flood: never returns */

/* tests_apic.c: the virtual local APIC, timers, interrupt injection, preemption (issue 10). */
void tests_apic(void);
void run_xapic_unsupported(void); /* guest.test=xapic_unsupported: never returns */
void run_xapic_idt(void);         /* guest.test=xapic_idt: never returns */
void run_hlt_forever(void);       /* guest.test=hlt_forever: never returns */

/* tests_sched.c: ring-3 programs on every CPU, each CPU's own scheduler and timer (SKIP with one CPU). */
void tests_sched(void);

/* tests_smp.c: several CPUs (SKIP with one); the last test leaves an AP spinning forever. */
void tests_smp(void);

#endif
