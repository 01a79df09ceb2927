/*
 * A ticket spinlock for state that several physical CPUs share (the frame allocator, the log and
 * its consoles): CPUs take it in the order they asked, spinning with PAUSE (SDM Vol. 2B PAUSE).
 */
#ifndef VMM_SPINLOCK_H
#define VMM_SPINLOCK_H

#include <stdint.h>

struct spinlock {
	uint32_t next;  /* the ticket the next CPU to ask gets */
	uint32_t owner; /* the ticket that holds the lock */
};

static inline void spin_lock(struct spinlock *l)
{
	const uint32_t ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED);
	while (__atomic_load_n(&l->owner, __ATOMIC_ACQUIRE) != ticket)
		__asm__ volatile("pause" ::: "memory");
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->owner, l->owner + 1, __ATOMIC_RELEASE);
}

/* Forget every holder: for the monitor's fatal-exception path only, which must print whatever held the lock. */
static inline void spin_lock_break(struct spinlock *l)
{
	__atomic_store_n(&l->owner, __atomic_load_n(&l->next, __ATOMIC_RELAXED), __ATOMIC_RELEASE);
}

#endif
