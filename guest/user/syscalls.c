/*
 * syscalls: SYSCALLS_COUNT getpid calls from ring 3 between two readings of
 * the monitor's exit counters; none of them may cause a VM exit.  In bench
 * mode: time `arg1` getpid calls and exit with the TSC cycles they took.
 */
#include "ulib.h"

static struct hv_stats before, after; /* in .bss: mapped when the program is loaded */

int64_t umain(uint64_t mode, uint64_t count);
int64_t umain(uint64_t mode, uint64_t count)
{
	if (mode == SYSCALLS_BENCH) {
		const uint64_t t0 = user_rdtsc();
		for (uint64_t i = 0; i < count; i++)
			sys_getpid();
		return (int64_t)(user_rdtsc() - t0);
	}
	if (mode != SYSCALLS_CHECK)
		return UTEST_BAD_MODE;

	const int64_t pid = sys_getpid();
	const bool hv = sys_info(INFO_HYPERVISOR) == 1;
	if (hv && sys_hvstats(&before) < 0)
		return UTEST_BAD_RESULT;
	unsigned wrong = 0;
	for (unsigned i = 0; i < SYSCALLS_COUNT; i++)
		wrong += sys_getpid() != pid;
	if (hv && sys_hvstats(&after) < 0)
		return UTEST_BAD_RESULT;

	if (wrong) {
		uprintf("%u of %u getpid calls returned a wrong pid\n", wrong, SYSCALLS_COUNT);
		return UTEST_BAD_RESULT;
	}
	if (!hv) {
		uprintf("%u getpid calls from ring 3 (no monitor to count exits)\n", SYSCALLS_COUNT);
		return UTEST_OK;
	}
	unsigned reason = 0;
	uint64_t extra = unexpected_exits(&before, &after, &reason);
	uprintf("%u getpid calls from ring 3: %llu VM exits (total_exits moved by %llu, the reading VMCALL)\n",
		SYSCALLS_COUNT, (unsigned long long)extra, (unsigned long long)(after.total_exits - before.total_exits));
	if (extra) {
		uprintf("unexpected exits, the first: %s (basic reason %u)\n", exit_name(reason), reason);
		return UTEST_EXITS_MOVED;
	}
	return UTEST_OK;
}
