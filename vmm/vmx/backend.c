/*
 * The VT-x backend behind vmm/backend.h: VMX root operation, the vCPU's VMCS, and one round trip
 * through the guest (events in, dirty registers back, VMLAUNCH/VMRESUME, the exit decoded).
 */
#include <arch/msr.h>
#include <arch/vmx.h>
#include <arch/vmx_controls.h>
#include <arch/vmx_state.h>
#include "vmm/log.h"
#include "vmm/pcpu.h"
#include "vmm/status.h"
#include "apicv.h"
#include "tlb.h"
#include "vmcs.h"
#include "vmcs_setup.h"
#include "vmx.h"
#include "vmx_backend.h"

int backend_cpu_enable(const struct vmx_caps *caps, struct pmm *pmm) { return vmx_enable(caps, pmm); }

void backend_cpu_disable(void)
{
	vmxoff();
	this_pcpu()->vmxon_region = 0;
	this_pcpu()->vcpu = NULL;
}

void backend_vcpu_configure(struct vcpu *v) { v->apicv = apicv_level_for(v->cfg, v->caps, v->mem_mode); }

int backend_vcpu_create(struct vcpu *v, struct pmm *pmm, const struct vcpu_start *start)
{
	return vmcs_setup(v, pmm, start);
}

void backend_vm86_done(struct vcpu *v) { vmcs_write32(EXCEPTION_BITMAP, vmcs_default_exception_bitmap(v)); }

int backend_vcpu_reset(struct vcpu *v, const struct vcpu_start *start) { return vmcs_reset_guest(v, start); }

const char *backend_exit_reason_name(uint32_t reason) { return vmx_exit_reason_name(reason); }

void backend_dump(struct vcpu *v)
{
	vmx_regs_writeback(v); /* the VMCS as the next entry would see it */
	vmcs_dump();
}

/* Exit qualification of a VM-entry failure during guest-state checks (SDM 27.8). */
static const char *const entry_failure_qualification[] = {
	[0] = "no further detail",
	[2] = "loading the PDPTEs failed",
	[3] = "injecting an NMI failed (NMI blocking)",
	[4] = "the VMCS link pointer is invalid",
};
#define ENTRY_FAILURE_QUALIFICATIONS (sizeof(entry_failure_qualification) / sizeof(entry_failure_qualification[0]))

static __attribute__((noinline, cold)) void report_entry_failure(struct vcpu *v, uint32_t reason)
{
	const uint32_t basic = VM_EXIT_REASON_BASIC(reason);
	const uint64_t q = vmcs_readnat(EXIT_QUALIFICATION);
	char why[200];

	log_error("VM entry failed: exit reason %u (%s) with the VM-entry-failure bit set", basic,
		  vmx_exit_reason_name(basic));
	if (basic == EXIT_REASON_INVALID_GUEST_STATE) {
		log_error("  the guest-state area breaks a VM-entry check (SDM 27.3.1); qualification %llu: %s",
			  (unsigned long long)q,
			  q < ENTRY_FAILURE_QUALIFICATIONS && entry_failure_qualification[q] ?
				  entry_failure_qualification[q] : "unknown");
		if (vmcs_check_guest_state(v->caps, why, sizeof(why)))
			log_error("  failing check: %s", why);
		else
			log_error("  the monitor's own checks found nothing: the VMCS dump follows");
	} else if (basic == EXIT_REASON_MSR_LOADING) {
		log_error("  loading entry %llu of the VM-entry MSR-load area failed (SDM 27.4)", (unsigned long long)q);
	} else if (basic == EXIT_REASON_MCE_DURING_ENTRY) {
		log_error("  a machine check occurred during VM entry (SDM 27.9)");
	}
	vmcs_dump();
}

int backend_vcpu_run(struct vcpu *v, uint64_t now)
{
	if (v->events.requests & VCPU_REQ_TLB_FLUSH) {
		v->events.requests &= ~VCPU_REQ_TLB_FLUSH;
		tlb_flush_guest(v);
	}
	if (vmx_events_to_look_at(v))
		vmx_inject_events(v, now);
	preemption_timer_arm(v, now);
	vmx_regs_writeback(v);
	/* A VMREAD/VMWRITE (or INVEPT/INVVPID) failed since the last entry: never enter on that VMCS. */
	if (vmcs_access_failures()) {
		log_error("a VMREAD/VMWRITE failed (reported above): the guest is not entered again on a VMCS "
			  "the monitor could not set up; this is a monitor bug, please report the lines above");
		return HV_ERR_VMX_INSTR;
	}
	const int r = vmx_enter_guest(&v->regs, v->launched);
	v->exit_tsc = rdtsc();
	v->rc.valid = 0; /* the guest ran: every cached register may have changed */
	if (r != 0) {
		vmx_report_failure(v->launched ? "VMRESUME" : "VMLAUNCH", r);
		vmcs_dump();
		return HV_ERR_VMENTRY;
	}
	const uint32_t reason = vmcs_read32(VM_EXIT_REASON);
	if (reason & VM_EXIT_REASON_ENTRY_FAILURE) {
		report_entry_failure(v, reason);
		return HV_ERR_VMENTRY;
	}
	if (!v->launched)
		log_info("VMLAUNCH succeeded: the guest is running");
	v->launched = true;
	vmx_exit_decode(v, VM_EXIT_REASON_BASIC(reason));
	apicv_after_exit(v);
	return EXIT_RESUME;
}

bool backend_failed(void) { return vmcs_access_failures() != 0; }

/* "IA-32e mode guest" follows EFER.LMA (SDM 27.2.1.2: they must agree at entry). */
void backend_set_long_mode(struct vcpu *v, bool on)
{
	(void)v;
	uint32_t entry = vmcs_read32(VM_ENTRY_CONTROLS);
	entry = on ? entry | ENTRY_IA32E_MODE_GUEST : entry & ~ENTRY_IA32E_MODE_GUEST;
	vmcs_write32(VM_ENTRY_CONTROLS, entry);
}

/* "Use TSC offsetting" is on whenever v->tsc_offsetting (vmcs_setup.c): the TSC-offset field alone (SDM 25.6.5). */
void backend_set_tsc_offset(struct vcpu *v, uint64_t offset)
{
	(void)v;
	vmcs_write64(TSC_OFFSET, offset);
}

/* The exception bitmap (SDM 25.6.3). */
void backend_intercept_exception(struct vcpu *v, unsigned vector, bool on)
{
	(void)v;
	const uint32_t bitmap = vmcs_read32(EXCEPTION_BITMAP);
	vmcs_write32(EXCEPTION_BITMAP, on ? bitmap | (1u << vector) : bitmap & ~(1u << vector));
}

void backend_apic_mode_changed(struct vcpu *v) { apicv_update(v); }

void backend_flush_guest_addr(struct vcpu *v, uint64_t gva) { tlb_flush_guest_addr(v, gva); }

bool backend_can_flush_guest_addr(const struct vcpu *v) { return v->vpid && v->caps->invvpid_addr; }

void backend_flush_second_level(const struct vmx_caps *caps, uint64_t root) { tlb_flush_ept(caps, root); }
