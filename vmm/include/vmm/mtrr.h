/*
 * Memory type range registers: reading the host's MTRRs and computing the
 * memory type of a physical range (SDM Vol. 3A 12.11 "Memory type range
 * registers (MTRRs)"), so that EPT leaves get the type the host firmware set
 * up (an EPT memory type is used as is, SDM Vol. 3C 29.3.7.2).
 * MSRs are read through a callback: pure logic, unit-tested on the host
 * (tests/unit/test_mtrr.c).
 */
#ifndef VMM_MTRR_H
#define VMM_MTRR_H

#include <stdbool.h>
#include <stdint.h>

/* Memory types (SDM 12.11.1, Table 12-8); the same encoding as EPT memory types. */
#define MTRR_TYPE_UC 0u
#define MTRR_TYPE_WC 1u
#define MTRR_TYPE_WT 4u
#define MTRR_TYPE_WP 5u
#define MTRR_TYPE_WB 6u

/* Fixed ranges (SDM 12.11.2.2): 8 x 64 KiB from 0, 16 x 16 KiB from 0x80000, 64 x 4 KiB from 0xC0000. */
#define MTRR_FIXED_RANGES   88u
#define MTRR_FIXED_LIMIT    0x100000ull /* fixed ranges cover [0, 1 MiB) */
#define MTRR_MAX_VARIABLE   64u         /* variable ranges kept (IA32_MTRRCAP.VCNT may say up to 255) */
#define MTRR_DEFAULT_PHYS_BITS 36u      /* MAXPHYADDR when CPUID.80000008h is absent (SDM 4.1.4) */

/* One variable range (SDM 12.11.2.3): address A matches when (A & mask) == (base & mask). */
struct mtrr_variable {
	uint64_t base;  /* IA32_MTRR_PHYSBASEn bits MAXPHYADDR-1:12 */
	uint64_t mask;  /* IA32_MTRR_PHYSMASKn bits MAXPHYADDR-1:12 */
	uint8_t type;   /* IA32_MTRR_PHYSBASEn bits 7:0 */
	bool valid;     /* IA32_MTRR_PHYSMASKn bit 11 */
};

struct mtrr_state {
	bool enabled;          /* IA32_MTRR_DEF_TYPE.E: when clear, all memory is UC */
	bool fixed_supported;  /* IA32_MTRRCAP.FIX */
	bool fixed_enabled;    /* IA32_MTRR_DEF_TYPE.FE (only honoured when fixed_supported) */
	uint8_t default_type;  /* IA32_MTRR_DEF_TYPE bits 7:0 */
	uint8_t fixed[MTRR_FIXED_RANGES];
	unsigned var_count;    /* variable ranges read: min(VCNT, MTRR_MAX_VARIABLE) */
	struct mtrr_variable var[MTRR_MAX_VARIABLE];
	unsigned phys_bits;    /* MAXPHYADDR: width of addresses and masks */
};

/*
 * Fill *s from the MSRs: IA32_MTRRCAP, IA32_MTRR_DEF_TYPE, the 11 fixed-range
 * MSRs (only when IA32_MTRRCAP.FIX) and the VCNT variable pairs that
 * IA32_MTRRCAP says exist (no others are read).  phys_bits is MAXPHYADDR
 * (0 means MTRR_DEFAULT_PHYS_BITS).  Call it only when CPUID.1:EDX.MTRR is
 * set; without MTRRs, zero the state instead (everything is then UC).
 * Returns 0, or -1 if VCNT exceeds MTRR_MAX_VARIABLE (the first ranges are kept;
 * the state is incomplete and the caller should treat it as unreliable).
 */
int mtrr_read(struct mtrr_state *s, uint64_t (*rdmsr)(void *ctx, uint32_t msr), void *ctx, unsigned phys_bits);

/*
 * The effective MTRR memory type of [base, base + size) (4 KiB granularity:
 * base is rounded down, the end up): MTRR_TYPE_* if uniform over the whole
 * range, or -1 if the range mixes types (the caller then tries smaller pages),
 * or for an empty range, a range that wraps, or one beyond 2^phys_bits.
 * MTRRs disabled: UC.  Below 1 MiB with fixed ranges enabled, the fixed ranges
 * decide.  Elsewhere, no matching variable range: the default type; several
 * matching ranges combine per SDM 12.11.4.1 (UC wins; WT with WB gives WT;
 * any other mix, undefined by the SDM, gives UC).  Reserved type encodings are
 * treated as UC.
 */
int mtrr_type_of_range(const struct mtrr_state *s, uint64_t base, uint64_t size);

/* Short name of a memory type ("WB"), "reserved" otherwise. */
const char *mtrr_type_name(unsigned type);

#endif
