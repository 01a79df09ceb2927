/*
 * APIC virtualization (SDM Vol. 3C chapter 30) for a guest in x2APIC mode, at the level the CPU offers.
 *
 * APICV_FULL (TPR shadow, "virtualize x2APIC mode", APIC-register virtualization, virtual-interrupt
 * delivery; EPT only): the vLAPIC stays the one model; before an entry, when it changed, its
 * registers are written into the virtual-APIC page and its highest IRR / ISR vectors into RVI / SVI
 * (guest interrupt status); what the CPU changed there (TPR, ISR, IRR) is read back when the
 * monitor next looks (vcpu_lapic).  In between, the CPU virtualizes without exits: reads of the
 * x2APIC registers kept on the page (30.5), writes of TPR, EOI and SELF IPI, and the delivery of
 * the pending interrupt whenever the guest can take it (30.2), so no interrupt-window exits.  What
 * still exits: the timer and LVT registers, ICR, SVR, the current count, IA32_APIC_BASE and
 * IA32_TSC_DEADLINE.
 *
 * APICV_TPR_SHADOW (TPR shadow and "virtualize x2APIC mode" only, e.g. Sandy Bridge; any memory
 * mode): the TPR alone lives on the page, read and written by the x2APIC TPR MSR and MOV CR8
 * without exits (30.1.2, 30.3); the monitor injects as on the software path and sets the TPR
 * threshold to the class of an interrupt that only the TPR holds back, so that lowering the TPR
 * below it exits (TPR below threshold, 30.1.2) and the interrupt is delivered at once.
 */
#include <string.h>
#include <arch/apic.h>
#include <arch/paging.h>
#include <arch/vmx.h>
#include <arch/vmx_controls.h>
#include <arch/vmx_state.h>
#include "apicv.h"
#include "vmm/cmdline.h"
#include "vmm/log.h"
#include "vmm/paging.h"
#include "vmm/pmm.h"
#include "vmm/status.h"
#include "vmm/vcpu.h"
#include "vmm/vlapic.h"
#include "vmcs.h"
#include "vmx_backend.h"
#include "vmm/vmx_caps.h"

#define APICV_PROC2 (CPU2_VIRTUALIZE_X2APIC_MODE | CPU2_APIC_REGISTER_VIRTUALIZATION | CPU2_VIRTUAL_INTERRUPT_DELIVERY)
#define GUEST_INTR_STATUS_SVI_SHIFT 8 /* RVI in bits 7:0, SVI in 15:8 (SDM 25.4.2) */

/* x2APIC MSRs whose reads the CPU serves from the virtual-APIC page (all that the page holds current). */
static const uint32_t virtualized_reads[] = {
	APIC_REG_ID, APIC_REG_VERSION, APIC_REG_TPR, APIC_REG_PPR, APIC_REG_LDR, APIC_REG_SVR, APIC_REG_ESR,
	APIC_REG_LVT_CMCI, APIC_REG_ICR_LO, APIC_REG_LVT_TIMER, APIC_REG_LVT_THERMAL, APIC_REG_LVT_PERF,
	APIC_REG_LVT_LINT0, APIC_REG_LVT_LINT1, APIC_REG_LVT_ERROR, APIC_REG_TIMER_ICR, APIC_REG_TIMER_DCR,
};
/* Writes the CPU virtualizes with virtual-interrupt delivery (SDM 30.5). */
static const uint32_t virtualized_writes[] = { APIC_REG_TPR, APIC_REG_EOI, APIC_REG_SELF_IPI };

#define APICV_PROC2_TPR (CPU2_VIRTUALIZE_X2APIC_MODE)

static uint32_t level_proc2(enum apicv_level level)
{
	return level == APICV_FULL ? APICV_PROC2 : level == APICV_TPR_SHADOW ? APICV_PROC2_TPR : 0;
}

/*
 * Full virtualization with EPT only.  With shadow paging a virtual interrupt's delivery often takes
 * a #PF exit (its stack page not yet in the shadow tables), and Bochs 2.7 then reports in the
 * IDT-vectoring field the last event the monitor injected, not the interrupt (SDM 28.2.4: an
 * external interrupt of vector SVI): re-injecting that would lose the interrupt and leave its ISR
 * bit set.  The TPR shadow alone delivers nothing by itself, so it serves shadow paging too.
 */
enum apicv_level apicv_level_for(const struct hv_config *cfg, const struct vmx_caps *caps, uint32_t mem_mode)
{
	if (!cfg->apicv || !(caps->may_be_1[VMX_CTL_PROC] & CPU_USE_TPR_SHADOW))
		return APICV_OFF;
	const uint32_t proc2 = caps->may_be_1[VMX_CTL_PROC2];
	if ((proc2 & APICV_PROC2) == APICV_PROC2) {
		if (mem_mode == HV_MEM_EPT)
			return APICV_FULL;
		log_info("APIC virtualization: no virtual-interrupt delivery with shadow paging (a #PF exit during "
			 "it is not re-injected reliably): the TPR shadow only");
	}
	return (proc2 & APICV_PROC2_TPR) == APICV_PROC2_TPR ? APICV_TPR_SHADOW : APICV_OFF;
}

int apicv_setup(struct vcpu *v, struct pmm *pmm)
{
	v->proc2_controls = vmcs_read32(SECONDARY_VM_EXEC_CONTROL);
	if (v->apicv == APICV_OFF)
		return HV_OK;
	const uint64_t page = pmm_alloc(pmm, 1, PAGE_SIZE);
	if (page == PMM_NO_MEMORY)
		return HV_ERR_NO_MEMORY;
	memset(phys_to_virt(page), 0, PAGE_SIZE);
	v->vapic_page = phys_to_virt(page);
	vmcs_write64(VIRTUAL_APIC_PAGE_ADDR, page);
	vmcs_write32(TPR_THRESHOLD, 0);
	v->tpr_threshold = 0;
	if (v->apicv == APICV_TPR_SHADOW) {
		log_info("APIC virtualization: TPR shadow and x2APIC virtualization while the guest is in x2APIC mode "
			 "(no virtual-interrupt delivery on this CPU: the monitor injects; apicv=0: software)");
		return HV_OK;
	}
	/* Every vector is edge-triggered: no EOI exits (SDM 30.1.4). */
	vmcs_write64(EOI_EXIT_BITMAP0, 0);
	vmcs_write64(EOI_EXIT_BITMAP1, 0);
	vmcs_write64(EOI_EXIT_BITMAP2, 0);
	vmcs_write64(EOI_EXIT_BITMAP3, 0);
	vmcs_write16(GUEST_INTERRUPT_STATUS, 0);
	log_info("APIC virtualization: TPR shadow, x2APIC virtualization, APIC-register virtualization and "
		 "virtual-interrupt delivery while the guest is in x2APIC mode (apicv=0: software)");
	return HV_OK;
}

/* Bit 1 in the MSR bitmap: the access exits (SDM 25.6.9). */
static void msr_bitmap_intercept(uint8_t *bitmap, uint32_t msr, bool write, bool intercept)
{
	uint8_t *byte = &bitmap[(write ? MSR_BITMAP_WRITE_LOW : MSR_BITMAP_READ_LOW) + msr / 8];
	*byte = intercept ? *byte | (uint8_t)(1u << (msr % 8)) : *byte & (uint8_t)~(1u << (msr % 8));
}

void apicv_update(struct vcpu *v)
{
	/*
	 * Only while software-enabled too: self-IPI virtualization and virtual-interrupt delivery do
	 * not look at SVR (SDM 30.1.3, 30.2), and a software-disabled APIC accepts no fixed interrupt.
	 */
	const bool active = v->apicv != APICV_OFF && vlapic_mode(&v->lapic) == VLAPIC_X2APIC &&
			    vlapic_software_enabled(&v->lapic);
	if (active == v->apicv_active)
		return;
	(void)vcpu_lapic(v); /* what the CPU left on the page, before the page stops being used */
	v->apicv_active = active;
	v->lapic.regs_changed = true; /* the page is written in full at the next entry */
	v->lapic.events_changed = true; /* the other path delivers from now on */
	const bool full = active && v->apicv == APICV_FULL;
	/* Without "virtualize x2APIC mode" a passed-through x2APIC MSR would reach the host's: intercept all again. */
	for (unsigned i = 0; i < sizeof(virtualized_reads) / sizeof(virtualized_reads[0]); i++)
		msr_bitmap_intercept(v->msr_bitmap, X2APIC_MSR(virtualized_reads[i]), false, !full);
	for (unsigned n = 0; n < APIC_VECTOR_REGS; n++) {
		msr_bitmap_intercept(v->msr_bitmap, X2APIC_MSR(APIC_REG_ISR0) + n, false, !full);
		msr_bitmap_intercept(v->msr_bitmap, X2APIC_MSR(APIC_REG_TMR0) + n, false, !full);
		msr_bitmap_intercept(v->msr_bitmap, X2APIC_MSR(APIC_REG_IRR0) + n, false, !full);
	}
	for (unsigned i = 0; i < sizeof(virtualized_writes) / sizeof(virtualized_writes[0]); i++)
		msr_bitmap_intercept(v->msr_bitmap, X2APIC_MSR(virtualized_writes[i]), true, !full);
	/* The TPR (and CR8, SDM 30.3) is on the page at both levels. */
	msr_bitmap_intercept(v->msr_bitmap, X2APIC_MSR(APIC_REG_TPR), false, !active);
	msr_bitmap_intercept(v->msr_bitmap, X2APIC_MSR(APIC_REG_TPR), true, !active);
	const uint32_t cr8_exits = CPU_CR8_LOAD_EXITING | CPU_CR8_STORE_EXITING;
	v->proc_controls = active ? (v->proc_controls | CPU_USE_TPR_SHADOW) & ~cr8_exits
				  : (v->proc_controls & ~CPU_USE_TPR_SHADOW) | cr8_exits;
	v->proc2_controls = (v->proc2_controls & ~level_proc2(v->apicv)) | (active ? level_proc2(v->apicv) : 0);
	if (full)
		v->proc_controls &= ~CPU_INTERRUPT_WINDOW_EXITING; /* the CPU delivers when the guest can take it */
	if (v->tpr_threshold) {
		v->tpr_threshold = 0;
		vmcs_write32(TPR_THRESHOLD, 0);
	}
	vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, v->proc_controls);
	vmcs_write32(SECONDARY_VM_EXEC_CONTROL, v->proc2_controls);
	log_debug("APIC virtualization %s", active ? "on (x2APIC mode)" : "off");
}


/*
 * TPR shadow only: the monitor injected (vmx_deliver_interrupt); now the page gets the
 * TPR if it changed, and the TPR threshold the class of the highest requested vector when only the TPR holds
 * it back, so that the guest lowering its TPR below that class exits (SDM 30.1.2).  Entry requires
 * threshold <= VTPR[7:4] (SDM 26.2.1.1), which holds: the class is at most the TPR's, and between
 * two evaluations VTPR can only drop through a guest write that exits here (reason 43).  Anything
 * added later that lowers VTPR without that exit must re-run this before the entry, or VM entry fails.
 */
static void tpr_shadow_before_entry(struct vcpu *v, uint64_t now)
{
	struct vlapic *a = vcpu_lapic(v);
	(void)now;
	if (a->changed || a->regs_changed)
		vlapic_page_store_tpr(a, v->vapic_page); /* VTPR is all the CPU reads here (SDM 30.1.2) */
	const int irr = vlapic_highest_irr(a), isr = vlapic_highest_isr(a);
	uint32_t threshold = 0;
	if (vlapic_mode(a) != VLAPIC_DISABLED && irr != VLAPIC_NO_VECTOR &&
	    (isr == VLAPIC_NO_VECTOR || APIC_PRIORITY_CLASS((unsigned)irr) > APIC_PRIORITY_CLASS((unsigned)isr)) &&
	    APIC_PRIORITY_CLASS((unsigned)irr) <= APIC_PRIORITY_CLASS(a->tpr))
		threshold = APIC_PRIORITY_CLASS((unsigned)irr);
	if (threshold != v->tpr_threshold) {
		v->tpr_threshold = threshold;
		vmcs_write32(TPR_THRESHOLD, threshold);
	}
}

void apicv_before_entry(struct vcpu *v, uint64_t now, bool busy)
{
	if (v->apicv == APICV_TPR_SHADOW) {
		vmx_deliver_interrupt(v, busy);
		tpr_shadow_before_entry(v, now);
		return;
	}
	/*
	 * Only when the vLAPIC changed since the last store: otherwise the page and RVI/SVI are as the
	 * CPU left them (the page holds nothing that changes with time: the current count exits).
	 */
	if (!v->lapic.changed && !v->lapic.regs_changed)
		return;
	struct vlapic *a = vcpu_lapic(v);
	vlapic_page_store(a, v->vapic_page, now);
	const int rvi = vlapic_highest_irr(a), svi = vlapic_highest_isr(a);
	vmcs_write16(GUEST_INTERRUPT_STATUS,
		     (uint16_t)((rvi < 0 ? 0 : rvi) | (svi < 0 ? 0 : svi) << GUEST_INTR_STATUS_SVI_SHIFT));
	/*
	 * A halted guest wakes for a deliverable interrupt; the CPU then delivers it (SDM 30.2.1).  Only
	 * a change can make one deliverable: the HLT exit halts only with nothing deliverable (misc.c).
	 */
	if (vlapic_pending_vector(a) != VLAPIC_NO_VECTOR && VMX_REG_READ(v, ACTIVITY_STATE) == VCPU_ACTIVITY_HLT)
		vcpu_write(v, VCPU_ACTIVITY_STATE, VCPU_ACTIVITY_ACTIVE);
}
