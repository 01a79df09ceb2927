/*
 * APIC virtualization (SDM Vol. 3C chapter 30) for a guest in x2APIC mode.  The vLAPIC stays the
 * one model: before each entry its registers are written into the virtual-APIC page and its
 * highest IRR / ISR vectors into RVI / SVI (guest interrupt status); after each exit the CPU's
 * changes (TPR, ISR, IRR) are read back.  In between, the CPU virtualizes without exits: reads of
 * the x2APIC registers kept on the page (APIC-register virtualization, 30.5), writes of TPR, EOI
 * and SELF IPI (30.5: TPR, EOI and self-IPI virtualization), and the delivery of the pending
 * interrupt whenever the guest can take it (virtual-interrupt delivery, 30.2), so no
 * interrupt-window exits.  What still exits: the timer and LVT registers, ICR, SVR, the current
 * count (computed from the TSC), IA32_APIC_BASE and IA32_TSC_DEADLINE.
 */
#include <string.h>
#include <arch/apic.h>
#include <arch/paging.h>
#include <arch/vmx.h>
#include <arch/vmx_controls.h>
#include <arch/vmx_state.h>
#include "vmm/apicv.h"
#include "vmm/cmdline.h"
#include "vmm/log.h"
#include "vmm/paging.h"
#include "vmm/pmm.h"
#include "vmm/status.h"
#include "vmm/vcpu.h"
#include "vmm/vlapic.h"
#include "vmm/vmcs.h"
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

/*
 * With EPT only.  With shadow paging a virtual interrupt's delivery often takes a #PF exit (its
 * stack page not yet in the shadow tables), and Bochs 2.7 then reports in the IDT-vectoring field
 * the last event the monitor injected, not the interrupt (SDM 28.2.4: an external interrupt of
 * vector SVI): re-injecting that would lose the interrupt and leave its ISR bit set.
 */
bool apicv_usable(const struct hv_config *cfg, const struct vmx_caps *caps, uint32_t mem_mode)
{
	if (!cfg->apicv || !(caps->may_be_1[VMX_CTL_PROC] & CPU_USE_TPR_SHADOW) ||
	    (caps->may_be_1[VMX_CTL_PROC2] & APICV_PROC2) != APICV_PROC2)
		return false;
	if (mem_mode != HV_MEM_EPT) {
		log_info("APIC virtualization: not with shadow paging (a #PF exit during virtual-interrupt delivery "
			 "is not re-injected reliably): the software path");
		return false;
	}
	return true;
}

int apicv_setup(struct vcpu *v, struct pmm *pmm)
{
	v->proc2_controls = vmcs_read32(SECONDARY_VM_EXEC_CONTROL);
	if (!v->apicv)
		return HV_OK;
	const uint64_t page = pmm_alloc(pmm, 1, PAGE_SIZE);
	if (page == PMM_NO_MEMORY)
		return HV_ERR_NO_MEMORY;
	memset(phys_to_virt(page), 0, PAGE_SIZE);
	v->vapic_page = phys_to_virt(page);
	vmcs_write64(VIRTUAL_APIC_PAGE_ADDR, page);
	vmcs_write32(TPR_THRESHOLD, 0);
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
	const bool active = v->apicv && vlapic_mode(&v->lapic) == VLAPIC_X2APIC;
	if (active == v->apicv_active)
		return;
	v->apicv_active = active;
	v->lapic.regs_changed = true; /* the page is written in full at the next entry */
	/* Without "virtualize x2APIC mode" a passed-through x2APIC MSR would reach the host's: intercept all again. */
	for (unsigned i = 0; i < sizeof(virtualized_reads) / sizeof(virtualized_reads[0]); i++)
		msr_bitmap_intercept(v->msr_bitmap, X2APIC_MSR(virtualized_reads[i]), false, !active);
	for (unsigned n = 0; n < APIC_VECTOR_REGS; n++) {
		msr_bitmap_intercept(v->msr_bitmap, X2APIC_MSR(APIC_REG_ISR0) + n, false, !active);
		msr_bitmap_intercept(v->msr_bitmap, X2APIC_MSR(APIC_REG_TMR0) + n, false, !active);
		msr_bitmap_intercept(v->msr_bitmap, X2APIC_MSR(APIC_REG_IRR0) + n, false, !active);
	}
	for (unsigned i = 0; i < sizeof(virtualized_writes) / sizeof(virtualized_writes[0]); i++)
		msr_bitmap_intercept(v->msr_bitmap, X2APIC_MSR(virtualized_writes[i]), true, !active);
	v->proc_controls = active ? v->proc_controls | CPU_USE_TPR_SHADOW : v->proc_controls & ~CPU_USE_TPR_SHADOW;
	v->proc2_controls = active ? v->proc2_controls | APICV_PROC2 : v->proc2_controls & ~APICV_PROC2;
	if (active)
		v->proc_controls &= ~CPU_INTERRUPT_WINDOW_EXITING; /* the CPU delivers when the guest can take it */
	vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, v->proc_controls);
	vmcs_write32(SECONDARY_VM_EXEC_CONTROL, v->proc2_controls);
	log_debug("APIC virtualization %s", active ? "on (x2APIC mode)" : "off");
}

void apicv_after_exit(struct vcpu *v)
{
	if (v->apicv_active)
		vlapic_page_load(&v->lapic, v->vapic_page);
}

void apicv_before_entry(struct vcpu *v, uint64_t now)
{
	/*
	 * Only when the vLAPIC changed since the last store: otherwise the page and RVI/SVI are as the
	 * CPU left them (the page holds nothing that changes with time: the current count exits).
	 */
	if (v->lapic.changed || v->lapic.regs_changed) {
		vlapic_page_store(&v->lapic, v->vapic_page, now);
		const int rvi = vlapic_highest_irr(&v->lapic), svi = vlapic_highest_isr(&v->lapic);
		vmcs_write16(GUEST_INTERRUPT_STATUS,
			     (uint16_t)((rvi < 0 ? 0 : rvi) | (svi < 0 ? 0 : svi) << GUEST_INTR_STATUS_SVI_SHIFT));
	}
	/* A halted guest wakes for a deliverable interrupt; the CPU then delivers it (SDM 30.2.1). */
	if (vlapic_pending_vector(&v->lapic) != VLAPIC_NO_VECTOR &&
	    vmcs_read32(GUEST_ACTIVITY_STATE) == GUEST_ACTIVITY_HLT)
		vmcs_write32(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
}
