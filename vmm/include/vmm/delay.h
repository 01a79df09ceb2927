/*
 * Waiting a given time on the physical machine, for the multiprocessor start-up protocol's delays
 * (SDM Vol. 3A 9.4.4.1): the TSC, whose frequency is measured once against the 8254's channel 2
 * (vmm/platform/delay.c).
 */
#ifndef VMM_DELAY_H
#define VMM_DELAY_H

#include <stdint.h>

/*
 * Measure the TSC's frequency (10 ms of the PIT's channel 2), or take CPUID leaf 15h/16h's word for
 * it when the PIT does not count (legacy-free machines).  Says which on the log.  Once, on the
 * bootstrap processor, before delay_us.
 */
void delay_calibrate(void);

/* TSC cycles per second as measured (never 0 after delay_calibrate). */
uint64_t delay_tsc_hz(void);

/* TSC value `us` microseconds from `now`. */
uint64_t delay_deadline(uint64_t now, uint64_t us);

/* Spin for `us` microseconds. */
void delay_us(uint64_t us);

#endif
