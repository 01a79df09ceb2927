/* The monitor's single way to end: print the verdict and power off with a status. */
#ifndef VMM_POWER_H
#define VMM_POWER_H

/*
 * Prints "HV-EXIT status=N (text)" as the last serial line, then:
 *  - QEMU (CPUID hypervisor signature TCG/KVM): writes N to isa-debug-exit (port 0xf4);
 *  - Bochs (port 0xe9 hack reads back 0xe9): "HV-EXIT status=N" on port 0xe9 (a channel the
 *    guest cannot reach), then "Shutdown" to port 0x8900 (never the magic breakpoint, which a
 *    guest could execute itself);
 *  - anything else (real hardware): halts with a final message.
 */
__attribute__((noreturn)) void hv_power_off(int status);

#endif
