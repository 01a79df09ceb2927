/*
 * hello: says hello, then yields `rounds` times.  Every instance keeps its
 * pid in the same global variable at the same virtual address: if address
 * spaces were shared, the instances would see each other's values.
 */
#include "ulib.h"

static volatile int64_t my_pid;

int64_t umain(uint64_t rounds, uint64_t unused);
int64_t umain(uint64_t rounds, uint64_t unused)
{
	(void)unused;
	const int64_t pid = sys_getpid();
	my_pid = pid;
	uprintf("hello from ring 3: pid %lld, my variable at %p, %llu rounds\n", (long long)pid, (void *)&my_pid,
		(unsigned long long)rounds);
	for (uint64_t i = 0; i < rounds; i++) {
		uprintf("round %llu, yielding\n", (unsigned long long)i);
		sys_yield();
		if (my_pid != pid) {
			uprintf("my variable holds %lld: another process wrote my memory\n", (long long)my_pid);
			return UTEST_ISOLATION;
		}
	}
	uprintf("done\n");
	return UTEST_OK;
}
