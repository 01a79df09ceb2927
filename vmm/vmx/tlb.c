/* Guest TLB flushes: see vmm/vmx/tlb.h. */
#include <arch/paging.h>
#include <arch/vmx.h>
#include "vmm/log.h"
#include "tlb.h"
#include "vmm/vcpu.h"
#include "vmcs.h"
#include "vmm/vmx_caps.h"

static void check(const char *op, enum vmx_result r)
{
	if (r != VMX_SUCCEED)
		vmx_instruction_failed(op, r);
}

bool tlb_vpid_usable(const struct vmx_caps *caps)
{
	return caps->vpid && (caps->invvpid_single || caps->invvpid_all);
}

void tlb_flush_guest(struct vcpu *v)
{
	if (!v->vpid)
		return; /* without VPID every VM entry and exit flushes them (SDM 29.4.3.1) */
	if (v->caps->invvpid_single)
		check("INVVPID (single-context)", invvpid(INVVPID_SINGLE_CONTEXT, v->vpid, 0));
	else
		check("INVVPID (all-context)", invvpid(INVVPID_ALL_CONTEXT, 0, 0));
}

void tlb_flush_guest_addr(struct vcpu *v, uint64_t gva)
{
	/*
	 * No translation is cached for a non-canonical address, and INVVPID of one fails
	 * (SDM Vol. 3C 31.3 INVVPID: VMfailValid); INVLPG of one is a no-op that still exits.
	 */
	if (!v->vpid || !is_canonical(gva))
		return;
	if (v->caps->invvpid_addr)
		check("INVVPID (individual-address)", invvpid(INVVPID_INDIVIDUAL_ADDRESS, v->vpid, gva));
	else
		tlb_flush_guest(v);
}

void tlb_flush_ept(const struct vmx_caps *caps, uint64_t eptp)
{
	if (caps->invept_single)
		check("INVEPT (single-context)", invept(INVEPT_SINGLE_CONTEXT, eptp));
	else if (caps->invept_all)
		check("INVEPT (all-context)", invept(INVEPT_ALL_CONTEXT, 0));
	else
		log_warn("this CPU has no INVEPT type: EPT changes rely on VM entries alone");
}
