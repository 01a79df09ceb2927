/* Shadow paging (vmm/mmu/shadow.c) as a vCPU's memory virtualization: the ops of vmm/mmu_ops.h. */
#include <arch/cr.h>
#include <arch/msr.h>
#include <arch/paging.h>
#include <arch/segment.h>
#include "vmm/guest_mem.h"
#include "vmm/memory_setup.h"
#include "vmm/mmu_ops.h"
#include "vmm/shadow.h"
#include "vmm/status.h"

static int shadow_load_cr3(struct vcpu *v, uint64_t cr3, bool noflush)
{
	(void)noflush; /* shadow roots are not PCID-tagged: every switch is a full one */
	v->guest_cr3 = cr3;
	return shadow_switch(v);
}

static int shadow_translation_changed(struct vcpu *v, enum mmu_change what)
{
	if (what == MMU_CHANGE_PAGING)
		vcpu_request_tlb_flush(v);
	return shadow_flush_all(v); /* NX in shadow leaves follows EFER.NXE too */
}

static int shadow_exception(struct vcpu *v, const struct vm_exit *e, uint64_t *mmio_gpa)
{
	if (e->intr.event.vector == VECTOR_PF)
		return shadow_handle_page_fault(v, e, mmio_gpa);
	if (e->intr.event.vector == VECTOR_DB)
		return shadow_handle_debug_exception(v, e); /* the end of a single-step of the monitor's */
	return exit_report_and_stop(v, HV_ERR_UNEXPECTED_EXIT, "unexpected exception exit");
}

static int shadow_gpa_to_hpa(struct vcpu *v, uint64_t gpa, uint64_t *hpa, uint64_t *page_size)
{
	*page_size = PAGE_SIZE;
	return guest_mem_gpa_to_hpa(&v->mem->gm, gpa, hpa) == 0 ? 0 : -1;
}

static void shadow_report_vcpu(struct vcpu *v) { shadow_report(v->shadow); }

const struct mmu_ops shadow_mmu = {
	.name = "shadow",
	.guest_pcid = false,      /* shadow roots are not PCID-tagged */
	.guest_real_mode = false, /* the hardware's paging is always on, hence protected mode */
	.pdptes_in_registers = false,
	.cr0_set = CR0_WP, /* shadow tables rely on write protection in supervisor mode too */
	.cr4_set = CR4_PAE, .cr4_clear = CR4_PCIDE, /* shadow tables are 4-level PAE tables, untagged */
	/*
	 * With its paging off the guest runs on the monitor's identity tables, whose pages are all
	 * user pages: SMEP/SMAP there would fault its every access.  They apply from CR0.PG on.
	 */
	.cr4_clear_paging_off = CR4_SMEP | CR4_SMAP,
	/* The CPU's paging is always on: LME/LMA only once the guest's CR0.PG is set (SDM 27.3.1.1). */
	.efer_clear_paging_off = EFER_LME | EFER_LMA,
	.cr3_in_vcpu = true, /* the hardware CR3 is a shadow root */
	.load_cr3 = shadow_load_cr3,
	.translation_changed = shadow_translation_changed,
	.invlpg = shadow_invlpg,
	.exception = shadow_exception,
	.gpa_to_hpa = shadow_gpa_to_hpa,
	.report = shadow_report_vcpu,
};
