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
/* The kernel's IPIs (guest/smp.c), the highest priority class, handled before the handler table. */
#define VECTOR_IPI_CALL      0xf0u /* run the function posted in the CPU's mailbox (smp_call) */
#define VECTOR_IPI_PING      0xf1u /* answer with VECTOR_IPI_PONG to the bootstrap processor */
#define VECTOR_IPI_PONG      0xf2u
#define VECTOR_TLB_SHOOTDOWN 0xf3u /* INVLPG the posted address (or reload CR3), then acknowledge */
#define VECTOR_CPU_TIMER     0xf4u /* a CPU's own local APIC timer tick (smp_timer_*) */
#define VECTOR_SMP_FIRST     VECTOR_IPI_CALL
#define VECTOR_SMP_LAST      VECTOR_CPU_TIMER

/* A handler for one vector; it runs with interrupts off and sends its own EOI (apic_eoi). */
typedef void (*irq_handler_fn)(struct trap_frame *f);

#define IRQ_TRACE_MAX 32
extern uint64_t irq_count[IDT_VECTORS];   /* interrupts taken, per vector */
extern uint8_t irq_trace[IRQ_TRACE_MAX];  /* vectors in the order taken (for the tests) */
extern unsigned irq_trace_len;

/*
 * x2APIC mode on, software enable with the spurious vector, the timer stopped; false without
 * x2APIC.  Without the monitor and without x2APIC: the same in xAPIC mode.
 */
bool apic_init(void);
/* An application processor's APIC, in the mode the bootstrap processor uses; returns its APIC ID. */
uint32_t apic_init_ap(void);
bool apic_x2apic_mode(void);  /* false: xAPIC mode (registers in the page) */
uint32_t apic_id(void);       /* this CPU's APIC ID (xAPIC: ID[31:24]) */
/*
 * An IPI: icr_low holds vector, delivery mode, level, trigger and shorthand (SDM 11.6.1); dest is
 * the destination field (x2APIC: 32 bits; xAPIC: 8).  xAPIC: waits for the delivery status to
 * clear before and after; false if it never did.
 */
bool apic_send_ipi(uint32_t dest, uint32_t icr_low);
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
