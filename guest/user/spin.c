/*
 * spin: loops forever in ring 3 without a single system call.  Only the timer can take the CPU
 * back from it (the scheduler preempts it; the kernel kills it as a daemon once the others ended).
 * It counts its loops in a variable at arg0 of its own memory, to show that it really ran.
 */
#include "ulib.h"

static volatile uint64_t loops;

int64_t umain(uint64_t unused0, uint64_t unused1);
int64_t umain(uint64_t unused0, uint64_t unused1)
{
	(void)unused0;
	(void)unused1;
	for (;;)
		loops++;
}
