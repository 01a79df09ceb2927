/*
 * Memory virtualization with EPT (SDM Vol. 3C chapter 29): the guest's own page tables and CR3
 * run on the CPU; guest-physical addresses go through the VM's EPT.  The monitor only keeps the
 * guest's TLB honest (VPID-tagged translations, SDM 29.4.3) when the guest changes paging controls.
 */
#include <arch/cr.h>
#include "vmm/backend.h"
#include "vmm/ept.h"
#include "vmm/memory_setup.h"
#include "vmm/mmu_ops.h"
#include "vmm/vcpu.h"

static int ept_load_cr3(struct vcpu *v, uint64_t cr3, bool noflush)
{
	vcpu_write(v, VCPU_CR3, cr3);
	if (!noflush)
		vcpu_request_tlb_flush(v);
	return EXIT_RESUME;
}

static int ept_translation_changed(struct vcpu *v, enum mmu_change what)
{
	if (what == MMU_CHANGE_PAGING)
		vcpu_request_tlb_flush(v); /* EFER.NXE needs nothing: the CPU reads it at each walk */
	return EXIT_RESUME;
}

static void ept_invlpg(struct vcpu *v, uint64_t gva) { backend_flush_guest_addr(v, gva); }

static int ept_gpa_to_hpa(struct vcpu *v, uint64_t gpa, uint64_t *hpa, uint64_t *page_size)
{
	struct ept_walk e;
	if (ept_translate(&v->mem->ept, gpa, &e) != EPT_OK)
		return -1;
	*hpa = e.hpa;
	*page_size = e.page_size;
	return 0;
}

const struct mmu_ops ept_mmu = {
	.name = "ept",
	.guest_pcid = true,
	.guest_real_mode = true,
	.pdptes_in_registers = true,
	.cr0_fixed0_ignored = CR0_PE | CR0_PG, /* unrestricted guest: SDM 26.3.1.1 */
	.load_cr3 = ept_load_cr3,
	.translation_changed = ept_translation_changed,
	.invlpg = ept_invlpg,
	.exception = 0,
	.gpa_to_hpa = ept_gpa_to_hpa,
	.report = 0,
};
