/*
 * VMCALL (exit reason 18): the hypercall ABI of vmm/include/vmm/hypercall.h.
 * Every guest pointer is translated through the guest's page tables and
 * checked to lie in guest RAM before a byte is copied; a bad one returns
 * HC_ERR_BAD_POINTER and is logged, at a bounded rate.  Only guest ring 0 may
 * make hypercalls; a number outside the monitor's range (RAX = 0 from a guest that probes for
 * another hypervisor, say) is answered HC_ERR_UNKNOWN_CALL, KVM's -ENOSYS, and never ends the VM.
 * Only a successful one is progress for the watchdog.
 */
#include <string.h>
#include <arch/msr.h>
#include <arch/segment.h>
#include <arch/vmx_state.h>
#include "vmm/exits.h"
#include "vmm/log.h"
#include "vmm/memory.h"
#include "vmm/status.h"

/*
 * Refused hypercalls (a bad guest buffer): the first REFUSED_LOG_FIRST are logged one by one, then one
 * summary line per REFUSED_LOG_PERIOD, so that a guest flooding them costs the monitor, and its
 * console, next to nothing: a log line over a 115200-baud UART is worth thousands of exits.
 */
#define REFUSED_LOG_FIRST  8
#define REFUSED_LOG_PERIOD 1000

static int64_t refuse_buffer(struct vcpu *v, const char *call, uint64_t buf)
{
	const uint64_t n = ++v->hypercalls_refused;
	if (n <= REFUSED_LOG_FIRST)
		log_warn("hypercall %s: bad guest buffer %#llx: refused%s", call, (unsigned long long)buf,
			 n == REFUSED_LOG_FIRST ? " (from now on, refusals are counted and summarized)" : "");
	else if ((n - REFUSED_LOG_FIRST) % REFUSED_LOG_PERIOD == 0)
		log_warn("%u more refused hypercalls (%llu in all)", REFUSED_LOG_PERIOD, (unsigned long long)n);
	return HC_ERR_BAD_POINTER;
}

/* The guest's exit(status): the status the monitor stops it with (its verdict is the monitor's, not this). */
static int hc_exit(struct vcpu *v)
{
	uint64_t status = v->regs.rbx;
	if (status > HV_GUEST_STATUS_MAX) {
		log_warn("guest exit status %llu is outside 0..%d: reporting %d", (unsigned long long)status,
			 HV_GUEST_STATUS_MAX, HV_GUEST_STATUS_MAX);
		status = HV_GUEST_STATUS_MAX;
	}
	log_info("guest called exit(%llu)", (unsigned long long)status);
	return (int)status;
}

static int64_t hc_get_stats(struct vcpu *v)
{
	const uint64_t buf = v->regs.rbx, size = v->regs.rcx;
	v->stats.version = HV_STATS_VERSION;
	v->stats.nr_reasons = HV_STATS_REASONS;
	if (size < sizeof(v->stats))
		return HC_ERR_BAD_ARGUMENT;
	if (vmm_guest_virt_write(v, buf, &v->stats, sizeof(v->stats), NULL, NULL) != GUEST_ACCESS_OK)
		return refuse_buffer(v, "GET_STATS", buf);
	return sizeof(v->stats);
}

static int64_t hc_translate(struct vcpu *v)
{
	struct hv_translation t;
	const uint64_t out = v->regs.rcx;
	int r = vmm_translate(v, v->regs.rbx, &t);
	if (r != 0)
		return r;
	if (vmm_guest_virt_write(v, out, &t, sizeof(t), NULL, NULL) != GUEST_ACCESS_OK)
		return refuse_buffer(v, "TRANSLATE", out);
	return 0;
}

int handle_hypercall(struct vcpu *v, const struct vm_exit *e)
{
	int64_t result;
	(void)e;
	if (vcpu_cpl(v) != 0) {
		/* User code may not talk to the monitor: VMCALL is undefined for it. */
		vcpu_inject_ud(v);
		return EXIT_RESUME;
	}
	/* Outside 64-bit mode the registers are 32 bits wide: ignore stale upper halves. */
	if (!vcpu_long64(v)) {
		v->regs.rax = (uint32_t)v->regs.rax;
		v->regs.rbx = (uint32_t)v->regs.rbx;
		v->regs.rcx = (uint32_t)v->regs.rcx;
		v->regs.rdx = (uint32_t)v->regs.rdx;
	}
	switch (v->regs.rax) {
	case HC_EXIT: v->hypercalls_done++; return hc_exit(v);
	case HC_GET_STATS: result = hc_get_stats(v); break;
	case HC_TRANSLATE: result = hc_translate(v); break;
	default:
		/* Not one of ours (vmm/include/vmm/hypercall.h): KVM's answer, and the guest goes on. */
		log_debug("guest VMCALL %#llx: not a hypercall of this monitor (%#x..%#x): RAX = %d",
			  (unsigned long long)v->regs.rax, HC_BASE, HC_BASE + HC_COUNT - 1, HC_ERR_UNKNOWN_CALL);
		result = HC_ERR_UNKNOWN_CALL;
		break;
	}
	if (result >= 0)
		v->hypercalls_done++; /* the watchdog's sign of life: a refused call is none */
	v->regs.rax = (uint64_t)result;
	vcpu_skip_instruction(v);
	return EXIT_RESUME;
}
