/* sleeper: SYS_SLEEP for `cycles` TSC cycles, `rounds` times; checks with RDTSC that it never woke early. */
#include "ulib.h"

static inline uint64_t rdtsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

int64_t umain(uint64_t cycles, uint64_t rounds);
int64_t umain(uint64_t cycles, uint64_t rounds)
{
	for (uint64_t i = 0; i < rounds; i++) {
		const uint64_t start = rdtsc();
		if (sys_sleep(cycles) != 0)
			return UTEST_BAD_RESULT;
		if (rdtsc() - start < cycles)
			return UTEST_WOKE_EARLY;
	}
	return UTEST_OK;
}
