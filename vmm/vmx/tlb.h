/*
 * Flushing what the CPU caches of the guest's translations (SDM Vol. 3C 29.4.3):
 * linear mappings tagged with the guest's VPID, and combined/guest-physical
 * mappings of its EPT.  The one place that picks the INVVPID/INVEPT type this
 * CPU supports, and that checks each result: a failed INVVPID/INVEPT counts as a
 * failed VMX instruction, and the run loop stops the guest (status 73) before
 * it could run on stale translations.
 */
#ifndef VMM_TLB_H
#define VMM_TLB_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;
struct vmx_caps;

/* Every linear translation of the guest's VPID (nothing to do without VPID: SDM 29.4.3.1). */
void tlb_flush_guest(struct vcpu *v);
/* The translations of one guest-linear address (all of them where the CPU cannot single one out). */
void tlb_flush_guest_addr(struct vcpu *v, uint64_t gva);
/* Every guest-physical and combined mapping derived from this EPT (SDM 29.4.3.4). */
void tlb_flush_ept(const struct vmx_caps *caps, uint64_t eptp);

/* VPID may be used only when INVVPID can flush a whole context (single-context or all-context). */
bool tlb_vpid_usable(const struct vmx_caps *caps);

#endif
