/*
 * Ticket spinlocks: a CPU takes the next ticket (LOCK XADD) and spins with PAUSE until the lock
 * serves it, so waiters get the lock in the order they came (no starvation).  x86 stores are not
 * reordered with older loads or stores (SDM Vol. 3A 10.2.2), so the release is a plain store.
 * No lock is ever taken by an NMI handler; a lock an interrupt handler takes must be held with
 * interrupts off elsewhere (spin_lock_irqsave).
 */
#ifndef GUEST_SPINLOCK_H
#define GUEST_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>

struct spinlock {
	volatile uint32_t next;    /* the ticket the next CPU to come takes */
	volatile uint32_t serving; /* the ticket that holds the lock */
};

#define SPINLOCK_INIT { 0, 0 }
#define RFLAGS_IF_BIT (1ull << 9)

static inline void cpu_relax(void) { __asm__ volatile("pause" ::: "memory"); }

static inline void spin_lock(struct spinlock *l)
{
	const uint32_t ticket = __atomic_fetch_add(&l->next, 1, __ATOMIC_ACQUIRE);
	while (__atomic_load_n(&l->serving, __ATOMIC_ACQUIRE) != ticket)
		cpu_relax();
}

/* True when the lock was free and is now held. */
static inline bool spin_trylock(struct spinlock *l)
{
	uint32_t serving = __atomic_load_n(&l->serving, __ATOMIC_RELAXED);
	uint32_t expected = serving;
	return __atomic_compare_exchange_n(&l->next, &expected, serving + 1, false, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static inline void spin_unlock(struct spinlock *l)
{
	__atomic_store_n(&l->serving, l->serving + 1, __ATOMIC_RELEASE);
}

static inline bool spin_is_locked(const struct spinlock *l)
{
	return __atomic_load_n(&l->next, __ATOMIC_RELAXED) != __atomic_load_n(&l->serving, __ATOMIC_RELAXED);
}

/* With interrupts off while held; returns the RFLAGS to give spin_unlock_irqrestore. */
static inline uint64_t spin_lock_irqsave(struct spinlock *l)
{
	uint64_t flags;
	__asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) :: "memory");
	spin_lock(l);
	return flags;
}

static inline void spin_unlock_irqrestore(struct spinlock *l, uint64_t flags)
{
	spin_unlock(l);
	if (flags & RFLAGS_IF_BIT)
		__asm__ volatile("sti" ::: "memory");
}

#endif
