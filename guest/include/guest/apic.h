/* The guest kernel's local APIC driver, in x2APIC mode (SDM Vol. 3A chapter 11), and its interrupts. */
#ifndef GUEST_APIC_H
#define GUEST_APIC_H

#include <stdbool.h>
#include <stdint.h>
#include <arch/apic.h>
#include "guest/trap.h"

/* The kernel's vectors: the scheduler's timer, the spurious vector (SDM 11.9: ends in 0xf). */
#define VECTOR_TIMER    0x40u
#define VECTOR_SPURIOUS 0xffu

/* A handler for one vector; it runs with interrupts off and sends its own EOI (apic_eoi). */
typedef void (*irq_handler_fn)(struct trap_frame *f);

#define IRQ_TRACE_MAX 32
extern uint64_t irq_count[IDT_VECTORS];   /* interrupts taken, per vector */
extern uint8_t irq_trace[IRQ_TRACE_MAX];  /* vectors in the order taken (for the tests) */
extern unsigned irq_trace_len;

/* x2APIC mode on, software enable with the spurious vector, every LVT masked; false without x2APIC. */
bool apic_init(void);
bool apic_ready(void);
/* Switch to xAPIC mode (through disabled: the APIC resets) or back to x2APIC; apic_read/write follow. */
bool apic_set_xapic_mode(bool xapic);
uint64_t apic_read(uint32_t offset);                /* RDMSR 0x800 + offset / 16 */
void apic_write(uint32_t offset, uint64_t value);   /* WRMSR */
void apic_eoi(void);
void apic_self_ipi(unsigned vector);

/* The timer: one-shot or periodic at the TSC rate (divide by 1), or a TSC deadline; stop masks it. */
void apic_timer_oneshot(unsigned vector, uint32_t count);
void apic_timer_periodic(unsigned vector, uint32_t count);
void apic_timer_deadline(unsigned vector, uint64_t tsc);
void apic_timer_stop(void);

void irq_set_handler(unsigned vector, irq_handler_fn h);
void irq_dispatch(struct trap_frame *f); /* trap.c, for vectors 32-255 */

static inline void irq_enable(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void irq_disable(void) { __asm__ volatile("cli" ::: "memory"); }
static inline uint64_t tsc_now(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return ((uint64_t)hi << 32) | lo;
}

#endif
