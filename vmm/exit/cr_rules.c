/* MOV to CR0 checks (see vmm/include/vmm/cr_rules.h).  SDM Vol. 2A MOV-CR, Vol. 3A 2.5. */
#include <arch/cr.h>
#include <arch/msr.h>
#include "vmm/cr_rules.h"

bool cr0_write_check(const struct cr0_write_ctx *c, uint64_t *value)
{
	uint64_t v = *value;
	/* "#GP(0) if an attempt is made to write a 1 to any reserved bit in CR0[63:32]" (Vol. 2A MOV-CR). */
	if (v & CR0_RESERVED_HIGH)
		return false;
	/* Reserved bits in CR0[31:0] are not checked: a write leaves them 0; ET is hard-wired to 1 (Vol. 3A 2.5). */
	v = (v & CR0_DEFINED) | CR0_ET;
	/* Invalid combinations (Vol. 2A MOV-CR): PG without PE, NW without CD. */
	if (((v & CR0_PG) && !(v & CR0_PE)) || ((v & CR0_NW) && !(v & CR0_CD)))
		return false;
	/* Paging cannot be turned off in 64-bit mode, nor while CR4.PCIDE is set (Vol. 3A 2.5, 4.10.1). */
	if ((c->old_cr0 & CR0_PG) && !(v & CR0_PG) && (c->in_64bit_mode || (c->cr4 & CR4_PCIDE)))
		return false;
	/* Entering IA-32e mode needs PAE paging (Vol. 3A 10.8.5). */
	if (!(c->old_cr0 & CR0_PG) && (v & CR0_PG) && (c->efer & EFER_LME) && !(c->cr4 & CR4_PAE))
		return false;
	*value = v;
	return true;
}
