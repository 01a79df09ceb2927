/*
 * The guest state the monitor reads and writes, by name and width: one table (an X-macro) for the
 * register cache (vmm/include/vmm/vcpu.h) and for each backend's mapping to its own storage (the
 * VT-x backend maps every entry to a guest-state field of the VMCS and checks the width at compile
 * time, vmm/vmx/regs.c).  Names follow the VMCS guest-state area (SDM Vol. 3C 25.4) without its
 * GUEST_ prefix; the formats are the architectural ones, and the segment access rights are the
 * descriptor's attribute bits in the layout of SDM Table 25-2 (bit 16: unusable), which a backend
 * with another layout converts.
 */
#ifndef VMM_VCPU_REGS_H
#define VMM_VCPU_REGS_H

#include <stdint.h>

/* The four registers of one segment, in this order (VCPU_SEG_REG relies on it). */
#define VCPU_SEGMENT_REGS(X, seg) \
	X(seg##_SELECTOR, 16) X(seg##_BASE, 64) X(seg##_LIMIT, 32) X(seg##_AR_BYTES, 32)

#define VCPU_REGS(X)                                                                              \
	X(RIP, 64) X(RSP, 64) X(RFLAGS, 64)                                                       \
	X(CR0, 64) X(CR3, 64) X(CR4, 64)                                                          \
	X(CR0_READ_SHADOW, 64) X(CR4_READ_SHADOW, 64) /* what the guest reads back (SDM 25.6.6) */ \
	X(IA32_EFER, 64) X(IA32_PAT, 64) X(IA32_DEBUGCTL, 64) X(DR7, 64)                          \
	X(SYSENTER_CS, 32) X(SYSENTER_ESP, 64) X(SYSENTER_EIP, 64)                                \
	VCPU_SEGMENT_REGS(X, ES) VCPU_SEGMENT_REGS(X, CS) VCPU_SEGMENT_REGS(X, SS)                \
	VCPU_SEGMENT_REGS(X, DS) VCPU_SEGMENT_REGS(X, FS) VCPU_SEGMENT_REGS(X, GS)                \
	VCPU_SEGMENT_REGS(X, LDTR) VCPU_SEGMENT_REGS(X, TR)                                       \
	X(GDTR_BASE, 64) X(GDTR_LIMIT, 32) X(IDTR_BASE, 64) X(IDTR_LIMIT, 32)                     \
	X(INTERRUPTIBILITY_INFO, 32) /* blocking by STI, MOV SS, SMI, NMI (SDM Table 25-3) */     \
	X(ACTIVITY_STATE, 32)        /* VCPU_ACTIVITY_* (SDM 25.4.2) */                           \
	X(PENDING_DBG_EXCEPTIONS, 64) /* SDM Table 25-4 */                                         \
	X(PDPTE0, 64) X(PDPTE1, 64) X(PDPTE2, 64) X(PDPTE3, 64) /* PAE paging with EPT (SDM 4.4.1) */

enum vcpu_reg {
#define VCPU_REG_ENUM(name, bits) VCPU_##name,
	VCPU_REGS(VCPU_REG_ENUM)
#undef VCPU_REG_ENUM
	VCPU_REG_COUNT
};
_Static_assert(VCPU_REG_COUNT <= 64, "the register cache keeps its valid and dirty sets in 64-bit masks");

/* Each register's width in bits, as constants (VCPU_BITS_CS_SELECTOR == 16) for compile-time checks. */
enum {
#define VCPU_REG_BITS(name, bits) VCPU_BITS_##name = bits,
	VCPU_REGS(VCPU_REG_BITS)
#undef VCPU_REG_BITS
};

/* The segment registers in the SDM's numbering (instruction information, Table 28-10), then LDTR and TR. */
enum vcpu_segment { SEG_ES, SEG_CS, SEG_SS, SEG_DS, SEG_FS, SEG_GS, SEG_LDTR, SEG_TR, SEG_COUNT_ALL };
#define SEG_COUNT SEG_LDTR /* the six that instructions name */
enum vcpu_segment_field { SEGF_SELECTOR, SEGF_BASE, SEGF_LIMIT, SEGF_AR_BYTES, SEGF_COUNT };
_Static_assert(VCPU_CS_SELECTOR - VCPU_ES_SELECTOR == SEGF_COUNT && VCPU_TR_SELECTOR - VCPU_ES_SELECTOR ==
		       SEG_TR * SEGF_COUNT && VCPU_ES_AR_BYTES - VCPU_ES_SELECTOR == SEGF_AR_BYTES,
	       "segment registers are consecutive, four per segment, in SDM order");
/* One register of a segment chosen at run time (a decoded instruction's segment). */
static inline enum vcpu_reg vcpu_seg_reg(unsigned seg, enum vcpu_segment_field f)
{
	return (enum vcpu_reg)(VCPU_ES_SELECTOR + seg * SEGF_COUNT + f);
}

/* Activity states (SDM 25.4.2): the values of the VMCS field, which other backends translate. */
enum vcpu_activity { VCPU_ACTIVITY_ACTIVE = 0, VCPU_ACTIVITY_HLT = 1, VCPU_ACTIVITY_SHUTDOWN = 2,
		     VCPU_ACTIVITY_WAIT_SIPI = 3 };

#endif
