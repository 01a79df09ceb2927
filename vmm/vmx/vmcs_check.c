/*
 * A software check of the guest-state rules of SDM Vol. 3C 27.3.1, run after
 * a VM entry failed with "invalid guest state" to name the failing field
 * (the CPU only says that some check failed).  It covers the rules this
 * monitor's guests can plausibly break, not every rule of the SDM.
 */
#include <arch/cr.h>
#include <arch/msr.h>
#include <arch/paging.h>
#include <arch/vmx_controls.h>
#include <arch/vmx_state.h>
#include "vmm/format.h"
#include "vmcs.h"
#include "vmcs_setup.h"

#define FAIL(...) do { hv_snprintf(buf, n, __VA_ARGS__); return 1; } while (0)
#define DESC_LIMIT_16BIT 0xffffu

int vmcs_check_guest_state(const struct vmx_caps *caps, char *buf, size_t n)
{
	const uint64_t cr0 = vmcs_readnat(GUEST_CR0), cr4 = vmcs_readnat(GUEST_CR4);
	const uint32_t entry = vmcs_read32(VM_ENTRY_CONTROLS), proc2 = vmcs_read32(SECONDARY_VM_EXEC_CONTROL);
	const uint64_t rflags = vmcs_readnat(GUEST_RFLAGS);
	const uint64_t efer = (entry & ENTRY_LOAD_IA32_EFER_ENTRY) ? vmcs_read64(GUEST_IA32_EFER) : 0;
	const uint32_t cs_ar = vmcs_read32(GUEST_CS_AR_BYTES), tr_ar = vmcs_read32(GUEST_TR_AR_BYTES);
	const uint32_t ldtr_ar = vmcs_read32(GUEST_LDTR_AR_BYTES);
	const bool ia32e = entry & ENTRY_IA32E_MODE_GUEST;
	uint64_t fixed0 = caps->raw.cr0_fixed0;

	/* 27.3.1.1 control registers */
	if (proc2 & CPU2_UNRESTRICTED_GUEST)
		fixed0 &= ~(CR0_PE | CR0_PG);
	if ((cr0 & fixed0) != fixed0)
		FAIL("GUEST_CR0=%#llx lacks bits %#llx that IA32_VMX_CR0_FIXED0 requires (SDM 27.3.1.1)",
		     (unsigned long long)cr0, (unsigned long long)(fixed0 & ~cr0));
	if (cr0 & ~caps->raw.cr0_fixed1)
		FAIL("GUEST_CR0=%#llx sets bits %#llx that IA32_VMX_CR0_FIXED1 forbids (SDM 27.3.1.1)",
		     (unsigned long long)cr0, (unsigned long long)(cr0 & ~caps->raw.cr0_fixed1));
	if ((cr0 & CR0_PG) && !(cr0 & CR0_PE))
		FAIL("GUEST_CR0=%#llx has PG set without PE (SDM 27.3.1.1)", (unsigned long long)cr0);
	if ((cr4 & caps->raw.cr4_fixed0) != caps->raw.cr4_fixed0 || (cr4 & ~caps->raw.cr4_fixed1))
		FAIL("GUEST_CR4=%#llx violates IA32_VMX_CR4_FIXED0/1 (SDM 27.3.1.1)", (unsigned long long)cr4);
	if (ia32e && (!(cr0 & CR0_PG) || !(cr4 & CR4_PAE)))
		FAIL("VM-entry control 'IA-32e mode guest' is set but GUEST_CR0.PG or GUEST_CR4.PAE is 0 (SDM 27.3.1.1)");
	if ((entry & ENTRY_LOAD_IA32_EFER_ENTRY) && (!!(efer & EFER_LMA) != ia32e))
		FAIL("GUEST_IA32_EFER.LMA=%d differs from the 'IA-32e mode guest' entry control=%d (SDM 27.3.1.1)",
		     !!(efer & EFER_LMA), ia32e);
	if ((entry & ENTRY_LOAD_IA32_EFER_ENTRY) && (cr0 & CR0_PG) && (!!(efer & EFER_LMA) != !!(efer & EFER_LME)))
		FAIL("GUEST_IA32_EFER=%#llx: with CR0.PG set, LMA must equal LME (SDM 27.3.1.1)", (unsigned long long)efer);

	/* 27.3.1.2 segment registers */
	if (ia32e && (cs_ar & VMX_AR_L) && (cs_ar & VMX_AR_DB))
		FAIL("GUEST_CS_AR_BYTES=%#x has both L and D/B set in IA-32e mode (SDM 27.3.1.2)", cs_ar);
	if (tr_ar & VMX_AR_UNUSABLE)
		FAIL("GUEST_TR_AR_BYTES=%#x: TR must be usable (SDM 27.3.1.2)", tr_ar);
	if ((tr_ar & VMX_AR_TYPE_MASK) != SEG_TYPE_TSS_BUSY &&
	    (ia32e || (tr_ar & VMX_AR_TYPE_MASK) != SEG_TYPE_TSS16_BUSY))
		FAIL("GUEST_TR_AR_BYTES=%#x: TR type must be a busy TSS (11%s) (SDM 27.3.1.2)", tr_ar,
		     ia32e ? "" : " or 3");
	if ((tr_ar & VMX_AR_S) || !(tr_ar & VMX_AR_P))
		FAIL("GUEST_TR_AR_BYTES=%#x: TR must be a present system segment (SDM 27.3.1.2)", tr_ar);
	if (!(ldtr_ar & VMX_AR_UNUSABLE) &&
	    ((ldtr_ar & VMX_AR_TYPE_MASK) != SEG_TYPE_LDT || (ldtr_ar & VMX_AR_S) || !(ldtr_ar & VMX_AR_P)))
		FAIL("GUEST_LDTR_AR_BYTES=%#x: a usable LDTR must be a present LDT descriptor (SDM 27.3.1.2)", ldtr_ar);

	/* 27.3.1.3 descriptor-table registers */
	if (vmcs_read32(GUEST_GDTR_LIMIT) > DESC_LIMIT_16BIT || vmcs_read32(GUEST_IDTR_LIMIT) > DESC_LIMIT_16BIT)
		FAIL("GUEST_GDTR_LIMIT or GUEST_IDTR_LIMIT exceeds 16 bits (SDM 27.3.1.3)");
	if (!is_canonical(vmcs_readnat(GUEST_GDTR_BASE)) || !is_canonical(vmcs_readnat(GUEST_IDTR_BASE)))
		FAIL("GUEST_GDTR_BASE or GUEST_IDTR_BASE is not canonical (SDM 27.3.1.3)");

	/* 27.3.1.4 RIP and RFLAGS */
	if (!(rflags & RFLAGS_RESERVED1))
		FAIL("GUEST_RFLAGS=%#llx: reserved bit 1 must be 1 (SDM 27.3.1.4)", (unsigned long long)rflags);
	if (rflags & RFLAGS_RESERVED_ZERO)
		FAIL("GUEST_RFLAGS=%#llx sets reserved bits %#llx (SDM 27.3.1.4)", (unsigned long long)rflags,
		     (unsigned long long)(rflags & RFLAGS_RESERVED_ZERO));
	if ((rflags & RFLAGS_VM) && (ia32e || !(cr0 & CR0_PE)))
		FAIL("GUEST_RFLAGS.VM is set in IA-32e mode or with CR0.PE=0 (SDM 27.3.1.4)");
	if ((!ia32e || !(cs_ar & VMX_AR_L)) && (vmcs_readnat(GUEST_RIP) >> 32))
		FAIL("GUEST_RIP=%#llx has bits 63:32 set outside 64-bit mode (SDM 27.3.1.4)",
		     (unsigned long long)vmcs_readnat(GUEST_RIP));

	/* 27.3.1.5 non-register state */
	if (vmcs_read32(GUEST_ACTIVITY_STATE) > GUEST_ACTIVITY_WAIT_SIPI)
		FAIL("GUEST_ACTIVITY_STATE=%u is not a valid activity state (SDM 27.3.1.5)",
		     vmcs_read32(GUEST_ACTIVITY_STATE));
	if (vmcs_read64(VMCS_LINK_POINTER) != VMCS_LINK_POINTER_NONE)
		FAIL("VMCS_LINK_POINTER=%#llx must be all ones without VMCS shadowing (SDM 27.3.1.5)",
		     (unsigned long long)vmcs_read64(VMCS_LINK_POINTER));
	return 0;
}
