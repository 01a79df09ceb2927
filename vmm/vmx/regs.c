/*
 * The register cache's VT-x side: each vcpu_reg is a guest-state field of the VMCS (SDM Vol. 3C
 * 25.4), with its width checked at compile time against the neutral table (vmm/vcpu_regs.h).
 */
#include "vmm/vcpu.h"
#include "vmcs.h"
#include "vmx_backend.h"

/* The two CR read shadows are control fields (SDM 25.6.6); every other register is GUEST_<name>. */
enum { GUEST_CR0_READ_SHADOW = CR0_READ_SHADOW, GUEST_CR4_READ_SHADOW = CR4_READ_SHADOW };

#define VMCS_WIDTH_BITS(w) ((w) == VMCS_W16 ? 16 : (w) == VMCS_W32 ? 32 : 64)
#define REG_WIDTH_CHECK(name, bits)                                                        \
	_Static_assert(VMCS_WIDTH_BITS(VMCS_FIELD_WIDTH(GUEST_##name)) == (bits),            \
		       "vcpu register " #name " and its VMCS field differ in width");
VCPU_REGS(REG_WIDTH_CHECK)
#undef REG_WIDTH_CHECK

const uint32_t vmx_reg_field[VCPU_REG_COUNT] = {
#define REG_FIELD(name, bits) [VCPU_##name] = GUEST_##name,
	VCPU_REGS(REG_FIELD)
#undef REG_FIELD
};

uint64_t backend_reg_read(struct vcpu *v, enum vcpu_reg r)
{
	(void)v;
	return vmcs_read_any(vmx_reg_field[r]);
}

