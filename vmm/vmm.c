/*
 * The hypervisor proper: choose the memory mode, enter VMX root operation,
 * build guest memory and the VMCS, load the guest, run it to its end, report.
 */
#include <string.h>
#include <arch/msr.h>
#include <arch/vmx.h>
#include <arch/vmx_controls.h>
#include "vmm/apicv.h"
#include "vmm/exits.h"
#include "vmm/guest_boot.h"
#include "vmm/host_apic.h"
#include "vmm/log.h"
#include "vmm/memory_setup.h"
#include "vmm/shadow.h"
#include "vmm/status.h"
#include "vmm/vcpu.h"
#include "vmm/vlapic.h"
#include "vmm/vmcs.h"
#include "vmm/vmcs_setup.h"
#include "vmm/vmm.h"
#include "vmm/vmx.h"
#include "vmm/vuart.h"

/* Exit qualification of a VM-entry failure during guest-state checks (SDM 27.8). */
static const char *const entry_failure_qualification[] = {
	[0] = "no further detail",
	[2] = "loading the PDPTEs failed",
	[3] = "injecting an NMI failed (NMI blocking)",
	[4] = "the VMCS link pointer is invalid",
};
#define ENTRY_FAILURE_QUALIFICATIONS (sizeof(entry_failure_qualification) / sizeof(entry_failure_qualification[0]))

static struct vcpu vcpu;
static struct vmm_memory memory;

static int choose_memory_mode(const struct hv_config *cfg, const struct vmx_caps *caps, uint32_t *mode)
{
	const bool explicit_mem = cfg->explicit_mask & (1u << HV_OPTIDX_mem);
	const bool ept_usable = caps->ept && caps->ept_4level && caps->ept_wb && caps->unrestricted_guest;

	*mode = cfg->mem;
	if (cfg->mem == HV_MEM_EPT && !ept_usable) {
		if (explicit_mem) {
			log_error("mem=ept needs EPT (4-level, write-back) with unrestricted guest, which this CPU lacks: "
				  "use mem=shadow or a CPU model with EPT");
			return HV_ERR_VMX_FEATURE;
		}
		log_warn("this CPU has no usable EPT with unrestricted guest: falling back to shadow paging (mem=shadow)");
		*mode = HV_MEM_SHADOW;
	}
	log_info("memory virtualization: %s", *mode == HV_MEM_EPT ? "EPT (nested paging)" : "shadow page tables");
	return HV_OK;
}

static void report_entry_failure(struct vcpu *v, uint32_t reason)
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

static void print_statistics(const struct vcpu *v, uint64_t guest_cycles)
{
	log_info("VM-exit statistics (%llu exits, %llu TSC cycles from launch to end):",
		 (unsigned long long)v->stats.total_exits, (unsigned long long)guest_cycles);
	hv_print("[hv]   %-22s %10s %14s %12s\n", "exit reason", "count", "monitor cycles", "cycles/exit");
	for (unsigned r = 0; r < HV_STATS_REASONS; r++) {
		if (!v->stats.count[r])
			continue;
		hv_print("[hv]   %-22s %10llu %14llu %12llu\n", vmx_exit_reason_name(r),
			 (unsigned long long)v->stats.count[r], (unsigned long long)v->stats.cycles[r],
			 (unsigned long long)(v->stats.cycles[r] / v->stats.count[r]));
	}
}

static int run_guest(struct vcpu *v)
{
	const uint64_t start = rdtsc();
	for (;;) {
		if (vmcs_access_failures()) {
			log_error("a VMREAD/VMWRITE failed (reported above): the guest is not entered again on a VMCS "
				  "the monitor could not set up; this is a monitor bug, please report the lines above");
			v->status = HV_ERR_VMX_INSTR;
			break;
		}
		/* Interrupts and time (SDM 27.6): the vLAPIC catches up, then its interrupt or a window exit, then the timer. */
		const uint64_t now = rdtsc();
		if (now >= vlapic_next_deadline(&v->lapic))
			vlapic_advance(vcpu_lapic(v), now);
		/* Nothing changed and nothing waits for a window: the last look still holds (most exits). */
		if (v->lapic.events_changed || v->events_waiting) {
			v->lapic.events_changed = false;
			vcpu_inject_pending_nmi(v); /* an NMI goes before an external interrupt (SDM Vol. 3A 6.9) */
			if (v->apicv_active)
				apicv_before_entry(v, now); /* the CPU delivers (virtual-interrupt delivery) */
			else
				vcpu_inject_pending_interrupt(v);
			v->events_waiting = v->lapic.nmi_pending ||
					    (v->proc_controls & (CPU_INTERRUPT_WINDOW_EXITING | CPU_NMI_WINDOW_EXITING));
		}
		preemption_timer_program(v, now);
		int r = vmx_enter_guest(&v->regs, v->launched);
		v->exit_tsc = rdtsc();
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
		v->exit_reason = VM_EXIT_REASON_BASIC(reason);
		v->exit_qualification = vmcs_readnat(EXIT_QUALIFICATION);
		preemption_timer_after_exit(v);
		apicv_after_exit(v);
		vcpu_restore_nmi_blocking(v);
		if (v->exit_reason < HV_STATS_REASONS) {
			v->stats.count[v->exit_reason]++;
			v->stats.total_exits++;
		}
		exit_dispatch(v);
		const uint64_t exit_cycles = rdtsc() - v->exit_tsc;
		if (v->exit_reason < HV_STATS_REASONS)
			v->stats.cycles[v->exit_reason] += exit_cycles;
		watchdog_note_progress(v, exit_cycles);
		if (v->done)
			break;
	}
	vuart_flush();
	print_statistics(v, rdtsc() - start);
	if (v->mem_mode == HV_MEM_SHADOW)
		shadow_report(v->shadow);
	return v->status;
}

int vmm_run(const struct bootinfo *bi, const struct hv_config *cfg, const struct vmx_caps *caps, struct pmm *pmm)
{
	struct vmcs_guest_start start = { 0 };
	struct vcpu *v = &vcpu;
	int status;

	memset(v, 0, sizeof(*v));
	v->cfg = cfg;
	v->caps = caps;
	v->mem = &memory;
	v->shadow = &memory.shadow;
	vlapic_reset(&v->lapic, 0, true); /* one vCPU, the bootstrap processor, APIC ID 0 */
	if ((status = choose_memory_mode(cfg, caps, &v->mem_mode)) != HV_OK)
		return status;
	v->apicv = apicv_level_for(cfg, caps, v->mem_mode);
	host_apic_report();
	if ((status = vmx_enable(caps, pmm)) != HV_OK)
		return status;
	if ((status = vmm_memory_setup(&memory, pmm, cfg, caps, v->mem_mode)) != HV_OK)
		return status;
	if ((status = guest_boot_prepare(v, bi, &start)) != HV_OK)
		return status;
	start.eptp = memory.eptp;
	start.cr3 = memory.initial_cr3;
	if ((status = vmcs_setup(v, pmm, &start)) != HV_OK)
		return status;
	log_info("VMLAUNCH: guest entry %#llx in 32-bit protected mode with paging off, EAX=%#llx EBX=%#llx, VPID %u",
		 (unsigned long long)start.rip, (unsigned long long)start.rax, (unsigned long long)start.rbx, v->vpid);
	status = run_guest(v);
	vmxoff();
	return status;
}
