/*
 * Several CPUs (guest/smp.c): the MADT's processors, the start of the application processors
 * (INIT-SIPI-SIPI, SDM Vol. 3A 9.4.4), the kernel's IPIs, and the TSC as a clock for the delays.
 *
 * CPU 0 is the bootstrap processor; the others are numbered in MADT order.  An AP, once online,
 * runs its scheduler loop (guest/proc.c: the processes placed on it), idles in STI; HLT and serves
 * IPIs: VECTOR_IPI_CALL runs the function the bootstrap processor posted in its mailbox (in the
 * interrupt handler, interrupts off), VECTOR_IPI_PING answers with VECTOR_IPI_PONG,
 * VECTOR_TLB_SHOOTDOWN invalidates the posted address.
 */
#ifndef GUEST_SMP_H
#define GUEST_SMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "guest/percpu.h"
#include "guest/trap.h"

/* boot: the MADT, read while the boot page tables map the low 4 GiB (right after multiboot2_parse). */
void smp_discover(void);
/* boot: start every other CPU of the MADT (up to cpus=N), one at a time; needs the local APIC. */
void smp_boot(void);

unsigned smp_madt_count(void);   /* enabled processors in the MADT (0: no usable tables) */
unsigned smp_started_count(void);/* CPUs the kernel tried to bring up, the bootstrap processor included */
unsigned smp_online_count(void); /* CPUs online (CPU_ONLINE or CPU_BUSY), the bootstrap processor included */
bool smp_cpu_usable(unsigned cpu); /* an AP that is online and serves IPIs (not CPU_BUSY) */

/* IPIs to CPU n (by CPU number): a fixed interrupt, an NMI; to every other CPU (shorthand). */
bool smp_send_ipi(unsigned cpu, unsigned vector);
bool smp_send_nmi(unsigned cpu);
bool smp_broadcast_ipi(unsigned vector);

/*
 * Run fn(arg) on CPU n in its VECTOR_IPI_CALL handler (interrupts off).  smp_call_async posts it
 * and returns (false: the CPU is not usable, or its last call has not finished); smp_call_wait
 * waits for it to return, at most timeout_ms.  fn may never return (it then keeps that CPU).
 */
bool smp_call_async(unsigned cpu, void (*fn)(void *), void *arg);
bool smp_call_wait(unsigned cpu, uint64_t timeout_ms);
bool smp_call(unsigned cpu, void (*fn)(void *), void *arg, uint64_t timeout_ms);

/*
 * TLB shootdown: every usable AP executes INVLPG va (va == SHOOTDOWN_ALL: reloads CR3) in its
 * VECTOR_TLB_SHOOTDOWN handler.  With probe, it then reads va through the exception table and
 * records a fault in its struct cpu (probe_faults, probe_vector, probe_cr2).  Sent with the
 * "all excluding self" shorthand; returns how many APs acknowledged within timeout_ms.
 */
#define SHOOTDOWN_ALL (~0ull)
unsigned smp_tlb_shootdown(uint64_t va, bool probe, uint64_t timeout_ms);

/* What the bootstrap processor received: VECTOR_IPI_PONG interrupts. */
extern volatile uint64_t smp_pongs;

/* The kernel's IPI vectors (VECTOR_SMP_FIRST .. VECTOR_SMP_LAST), from irq_dispatch. */
void smp_ipi_dispatch(struct trap_frame *f, unsigned vector);

/* The TSC as a clock: its rate (CPUID.15h, CPUID.16h, the PIT without the monitor, or assumed). */
extern uint64_t tsc_hz;
void tsc_calibrate(void);
uint64_t tsc_cycles_ms(uint64_t ms);
void tsc_delay_us(uint64_t us);

/*
 * The start-up signals by APIC ID (SDM Vol. 3A 9.4.4.1, 11.6.1), and what the tests look at: the
 * STARTUP vector of the AP trampoline (its page; TRAMP_PREFERRED's without one), how many processors
 * have run the trampoline (0 without one), the highest APIC ID of the MADT and this CPU.
 */
bool smp_send_init(uint32_t apic_id);
bool smp_send_startup(uint32_t apic_id, unsigned vector);
unsigned smp_startup_vector(void);
unsigned smp_trampoline_starts(void);
uint32_t smp_apic_id_max(void);

/*
 * Restart AP n as at boot: INIT puts it back in wait-for-SIPI, STARTUP twice sends it through the
 * trampoline, and it re-enters ap_main with its struct cpu reset (no process, no call pending, an
 * empty scheduler).  The caller parks it first where it holds no lock and has no process (as in an
 * smp_call function that spins with interrupts off) and marks it CPU_BUSY.  False, with the reason
 * in why, when it was not restarted or did not come back online within AP_ONLINE_TIMEOUT_MS.
 */
bool smp_restart_ap(unsigned cpu, char *why, size_t len);

/* The AP's C entry (guest/trampoline.asm's ap_entry64). */
__attribute__((noreturn)) void ap_main(struct cpu *c);

/* cpu.c: an AP's own GDT (the kernel's, with its own TSS descriptor) and TSS, the shared IDT. */
void cpu_tables_init_ap(struct cpu *c);

#endif
