/*
 * Control-register accesses (exit reason 28; qualification: SDM Vol. 3C 28.2.1, Table 28-3).
 * The monitor owns every CR0/CR4 bit (guest/host masks all ones): the guest
 * reads its own values from the read shadows without exiting, and every
 * change it makes comes here to be checked, shadowed and applied.
 */
#include <arch/cpuid.h>
#include <arch/cr.h>
#include <arch/msr.h>
#include <arch/paging.h>
#include <arch/vmx_controls.h>
#include <arch/vmx_state.h>
#include "vmm/cr_rules.h"
#include "vmm/exits.h"
#include "vmm/backend.h"
#include "vmm/gpt.h"
#include "vmm/guest_cr.h"
#include "vmm/log.h"
#include "vmm/memory.h"
#include "vmm/mmu_ops.h"
#include "vmm/status.h"
#include "vmm/vlapic.h"


#define LMSW_BITS (CR0_PE | CR0_MP | CR0_EM | CR0_TS) /* LMSW loads CR0[3:0] only (SDM Vol. 2A LMSW) */
#define PAE_PDPT_ALIGN_MASK 0x1full /* PAE CR3 bits 4:0 ignored: the PDPT is 32-byte aligned */
#define CR3_PCID_NOFLUSH (1ull << 63)
/* CR4 bits this monitor lets a guest set: VMX is hidden (VMXE/SMXE refused). */
#define CR4_GUEST_VALID (CR4_VME | CR4_PVI | CR4_TSD | CR4_DE | CR4_PSE | CR4_PAE | CR4_MCE | CR4_PGE | \
			 CR4_PCE | CR4_OSFXSR | CR4_OSXMMEXCPT | CR4_UMIP | CR4_FSGSBASE | CR4_PCIDE | \
			 CR4_OSXSAVE | CR4_SMEP | CR4_SMAP)
/* Changes of these bits change how linear addresses translate: flush the guest's TLB entries. */
#define CR0_PAGING_BITS (CR0_PG | CR0_WP | CR0_CD)
#define CR4_PAGING_BITS (CR4_PSE | CR4_PAE | CR4_PGE | CR4_PCIDE | CR4_SMEP | CR4_SMAP)


static bool guest_long_mode_active(const struct vcpu *v) { return (v->guest_efer & EFER_LMA) != 0; }

/* 64-bit mode proper: IA-32e mode with a 64-bit code segment (not compatibility mode). */
static bool guest_64bit_mode(struct vcpu *v)
{
	return vcpu_long64(v);
}

/*
 * PAE paging outside long mode: the CPU loads the four PDPTEs into registers
 * at MOV to CR3, and at MOV to CR0/CR4 changing the bits below, refusing a
 * present one with reserved bits set with #GP (SDM Vol. 3A 4.4.1).  The
 * monitor does the same in both modes: the walker uses the loaded copies
 * (vmm_guest_gpt_cpu), and with EPT, VM entry takes them from the VMCS
 * (SDM 27.3.2.4).
 */
static int load_pae_pdptes(struct vcpu *v, uint64_t cr3)
{
	uint64_t pdpte[GPT_PAE_PDPTES];
	if (vmm_guest_phys_read(v->mem, cr3 & ~PAE_PDPT_ALIGN_MASK & 0xffffffffull, pdpte, sizeof(pdpte)) != 0)
		return -1;
	for (unsigned i = 0; i < GPT_PAE_PDPTES; i++)
		if (!gpt_pae_pdpte_valid(pdpte[i], v->caps->maxphyaddr))
			return -1;
	for (unsigned i = 0; i < GPT_PAE_PDPTES; i++) {
		v->pae_pdpte[i] = pdpte[i];
		if (v->mmu->pdptes_in_registers)
			vcpu_write(v, (enum vcpu_reg)(VCPU_PDPTE0 + i), pdpte[i]);
	}
	return 0;
}
#define CR0_PDPTE_RELOAD_BITS (CR0_PG | CR0_CD | CR0_NW)
#define CR4_PDPTE_RELOAD_BITS (CR4_PAE | CR4_PGE | CR4_PSE | CR4_SMEP)

static bool pae_paging(const struct vcpu *v, uint64_t cr0, uint64_t cr4)
{
	return (cr0 & CR0_PG) && (cr4 & CR4_PAE) && !guest_long_mode_active(v);
}

static uint64_t guest_cr3(struct vcpu *v) { return mmu_guest_cr3(v); }

static void set_ia32e_mode(struct vcpu *v, bool on)
{
	v->guest_efer = on ? v->guest_efer | EFER_LMA : v->guest_efer & ~EFER_LMA;
	backend_set_long_mode(v, on);
}

/* The architectural checks of a MOV to CR0 (vmm/exit/cr_rules.c); *value becomes what CR0 holds. */
static bool cr0_write_allowed(struct vcpu *v, uint64_t *value)
{
	const struct cr0_write_ctx c = { v->guest_cr0, v->guest_cr4, v->guest_efer, guest_64bit_mode(v) };
	return cr0_write_check(&c, value);
}

static int emulate_write_cr0(struct vcpu *v, uint64_t value)
{
	const uint64_t old = v->guest_cr0;
	const uint64_t efer = v->guest_efer;

	if (!cr0_write_allowed(v, &value))
		return EMULATE_FAULT;
	if (!(old & CR0_PG) && (value & CR0_PG) && (efer & EFER_LME)) {
		set_ia32e_mode(v, true);
		log_debug("guest enabled paging with EFER.LME: IA-32e mode active");
	} else if ((old & CR0_PG) && !(value & CR0_PG) && (efer & EFER_LMA)) {
		set_ia32e_mode(v, false);
	}
	if (pae_paging(v, value, v->guest_cr4) && ((old ^ value) & CR0_PDPTE_RELOAD_BITS) &&
	    load_pae_pdptes(v, guest_cr3(v)) != 0)
		return EMULATE_FAULT;
	v->guest_cr0 = value;
	vcpu_write(v, VCPU_CR0_READ_SHADOW, value);
	vcpu_write(v, VCPU_CR0, cr0_hardware_value(v, value));
	if ((old ^ value) & CR0_PG)
		vcpu_write(v, VCPU_CR4, cr4_hardware_value(v, v->guest_cr4)); /* what the mode forces may follow CR0.PG */
	efer_apply(v);
	if ((old ^ value) & CR0_PAGING_BITS)
		return v->mmu->translation_changed(v, MMU_CHANGE_PAGING);
	return EXIT_RESUME;
}

static inline __attribute__((always_inline)) int emulate_write_cr4(struct vcpu *v, uint64_t value)
{
	const uint64_t old = v->guest_cr4;
	if (value & ~CR4_GUEST_VALID)
		return EMULATE_FAULT;
	if (!v->mmu->guest_pcid && (value & CR4_PCIDE))
		return EMULATE_FAULT; /* shadow roots are not PCID-tagged */
	if (value & ~v->caps->raw.cr4_fixed1 & ~CR4_PCIDE)
		return EMULATE_FAULT; /* a bit the CPU cannot set in VMX operation (IA32_VMX_CR4_FIXED1, SDM A.8) */
	if (guest_long_mode_active(v) && !(value & CR4_PAE))
		return EMULATE_FAULT; /* SDM Vol. 3A 2.5: clearing PAE in IA-32e mode is #GP */
	/* Setting PCIDE needs IA-32e mode and CR3[11:0] = 0 (SDM Vol. 3A 2.5, 4.10.1). */
	if ((value & CR4_PCIDE) && !(old & CR4_PCIDE) &&
	    (!guest_long_mode_active(v) || (vcpu_read(v, VCPU_CR3) & ~PAGE_MASK)))
		return EMULATE_FAULT;
	if (pae_paging(v, v->guest_cr0, value) && ((old ^ value) & CR4_PDPTE_RELOAD_BITS) &&
	    load_pae_pdptes(v, guest_cr3(v)) != 0)
		return EMULATE_FAULT;
	v->guest_cr4 = value;
	vcpu_write(v, VCPU_CR4_READ_SHADOW, value);
	vcpu_write(v, VCPU_CR4, cr4_hardware_value(v, value));
	if ((old ^ value) & CR4_PAGING_BITS)
		return v->mmu->translation_changed(v, MMU_CHANGE_PAGING);
	return EXIT_RESUME;
}

static int emulate_write_cr3(struct vcpu *v, uint64_t value)
{
	const bool noflush = (v->guest_cr4 & CR4_PCIDE) && (value & CR3_PCID_NOFLUSH);
	if (noflush)
		value &= ~CR3_PCID_NOFLUSH;
	/* In IA-32e mode, CR3 bits at and above MAXPHYADDR are reserved: #GP (SDM Vol. 2A, MOV to CR). */
	if (guest_long_mode_active(v) && (value & (~0ull << v->caps->maxphyaddr)))
		return EMULATE_FAULT;
	if (pae_paging(v, v->guest_cr0, v->guest_cr4) && load_pae_pdptes(v, value) != 0)
		return EMULATE_FAULT;
	return v->mmu->load_cr3(v, value, noflush);
}

/* The MOV-to-CR paths for other handlers (task switches load CR3 and set CR0.TS, SDM Vol. 3A 7.3). */
int cr_load_cr0(struct vcpu *v, uint64_t value) { return emulate_write_cr0(v, value); }
int cr_load_cr3(struct vcpu *v, uint64_t value) { return emulate_write_cr3(v, value); }
int cr_load_cr4(struct vcpu *v, uint64_t value) { return emulate_write_cr4(v, value); }

int handle_cr_access(struct vcpu *v, const struct vm_exit *x)
{
	const struct cr_exit e = x->cr;
	const unsigned cr = e.cr, gpr = e.gpr;
	int r = EXIT_RESUME;

	switch (e.type) {
	case CR_MOV_TO: {
		uint64_t value = vcpu_gpr_read(v, gpr);
		if (!guest_64bit_mode(v))
			value &= 0xffffffffull; /* outside 64-bit mode the operand is 32 bits */
		if (cr == 0 && !v->mmu->guest_real_mode && cr0_write_allowed(v, &value) && !(value & CR0_PE)) {
			/*
			 * Shadow paging needs hardware paging on, hence protected mode: real mode cannot run.
			 * (A value the CPU refuses, PE cleared with PG still set say, is the guest's #GP below.)
			 */
			return exit_report_and_stop(v, HV_ERR_GUEST_FAULT,
						    "the guest cleared CR0.PE: real mode is not supported under shadow paging (use mem=ept)");
		}
		switch (cr) {
		case 0: r = emulate_write_cr0(v, value); break;
		case 3: r = emulate_write_cr3(v, value); break;
		case 4: r = emulate_write_cr4(v, value); break;
		case 8: r = vlapic_write_cr8(vcpu_lapic(v), value) ? EXIT_RESUME : EMULATE_FAULT; break; /* the vLAPIC's TPR */
		default:
			return exit_report_and_stop(v, HV_ERR_UNEXPECTED_EXIT,
						    "MOV to a control register the monitor does not virtualize");
		}
		break;
	}
	case CR_MOV_FROM:
		if (cr == 8) {
			vcpu_gpr_write(v, gpr, vlapic_read_cr8(vcpu_lapic(v)));
			break;
		}
		if (cr != 3)
			return exit_report_and_stop(v, HV_ERR_UNEXPECTED_EXIT, "MOV from a control register that should not exit");
		vcpu_gpr_write(v, gpr, guest_cr3(v));
		break;
	case CR_CLTS:
		r = emulate_write_cr0(v, v->guest_cr0 & ~CR0_TS);
		break;
	case CR_LMSW: {
		/* LMSW can set PE but never clear it. */
		uint64_t src = e.lmsw_source & LMSW_BITS;
		r = emulate_write_cr0(v, (v->guest_cr0 & ~(LMSW_BITS & ~CR0_PE)) | src);
		break;
	}
	}
	if (r == EMULATE_FAULT) {
		log_debug("guest MOV to CR%u with an invalid value: #GP injected", cr);
		vcpu_inject_gp0(v);
		return EXIT_RESUME;
	}
	if (r != EXIT_RESUME)
		return r;
	vcpu_skip_instruction(v);
	return EXIT_RESUME;
}
