/*
 * The boundary between the monitor and the hardware virtualization it runs on.  Everything the
 * monitor asks of VT-x goes through these calls; only the backend's directory (vmm/vmx/) touches
 * the VMCS (the layout test, tests/boot/test_layout.py, enforces it).  A second backend (AMD-V)
 * implements the same calls on a VMCB; docs/architecture.md says how.
 */
#ifndef VMM_BACKEND_H
#define VMM_BACKEND_H

#include <stdbool.h>
#include <stdint.h>
#include "vmm/pmm.h"
#include "vmm/start_state.h"
#include "vmm/vcpu.h"

/* Enter VMX root operation on this CPU (checks, fixed bits, VMXON); HV_OK or a status, reported. */
int backend_cpu_enable(const struct vmx_caps *caps, struct pmm *pmm);
/* Leave it. */
void backend_cpu_disable(void);

/*
 * Choose what the hardware virtualizes for this vCPU (APIC virtualization level), once its memory
 * mode is known and before a loader tells the guest what to expect.
 */
void backend_vcpu_configure(struct vcpu *v);
/* Create the vCPU's hardware state (VMCS, bitmaps, APIC virtualization) from `start`. */
int backend_vcpu_create(struct vcpu *v, struct pmm *pmm, const struct vcpu_start *start);
/* Virtual-8086 mode is over (vmm/exit/vm86.c): back to the exceptions the memory mode intercepts. */
void backend_vm86_done(struct vcpu *v);
/* Put an existing vCPU back in `start` (INIT then STARTUP), on the physical CPU that runs it. */
int backend_vcpu_reset(struct vcpu *v, const struct vcpu_start *start);

/*
 * Run the guest until its next exit: deliver the queued events (SDM Vol. 3C 27.6), arm the guest
 * timer for the earlier of the watchdog and `timer_deadline` (TSC; VLAPIC_NO_DEADLINE for none),
 * write back the dirty registers, enter, and decode the exit into v->exit.  EXIT_RESUME after an
 * exit, or a status when the entry failed (reported, with the failing check).
 */
int backend_vcpu_run(struct vcpu *v, uint64_t now);

/* Every field of the vCPU's hardware state, by name (fatal reports). */
void backend_dump(struct vcpu *v);
/* The name of a backend exit reason (statistics). */
const char *backend_exit_reason_name(uint32_t reason);

/* The guest's TSC is now the host's + `offset` (RDTSC, RDTSCP, RDMSR of IA32_TSC in the guest; SDM Vol. 3C 26.6.5). */
void backend_set_tsc_offset(struct vcpu *v, uint64_t offset);
/* The guest enters or leaves IA-32e mode (EFER.LMA): the backend's entry control follows (SDM 27.2.1.2). */
void backend_set_long_mode(struct vcpu *v, bool on);
/* Intercept a guest exception vector, or stop (shadow paging's #PF, its single-step #DB). */
void backend_intercept_exception(struct vcpu *v, unsigned vector, bool on);
/* The vLAPIC's mode changed (x2APIC, software enable): hardware APIC virtualization follows. */
void backend_apic_mode_changed(struct vcpu *v);
/* Flush the guest's translations of one linear address now (INVLPG; all of them where the CPU cannot pick one). */
void backend_flush_guest_addr(struct vcpu *v, uint64_t gva);
/* Whether the CPU can flush one linear address alone (else backend_flush_guest_addr flushes all). */
bool backend_can_flush_guest_addr(const struct vcpu *v);
/* Flush every combined and guest-physical translation of a second-level root (after changing it). */
void backend_flush_second_level(const struct vmx_caps *caps, uint64_t root);
/* Whether a VMREAD/VMWRITE or INVEPT/INVVPID failed: the run loop stops before the next entry. */
bool backend_failed(void);

#endif
