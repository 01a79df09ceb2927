/* Control registers (SDM Vol. 3A 2.5). */
#ifndef ARCH_CR_H
#define ARCH_CR_H

#include <stdint.h>

#define CR0_PE (1ull << 0)
#define CR0_MP (1ull << 1)
#define CR0_EM (1ull << 2)
#define CR0_TS (1ull << 3)
#define CR0_ET (1ull << 4)
#define CR0_NE (1ull << 5)
#define CR0_WP (1ull << 16)
#define CR0_AM (1ull << 18)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)
/* The defined CR0 bits; the others in 31:0 are reserved (ignored on write), 63:32 reserved (#GP). */
#define CR0_DEFINED (CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_NW | \
		     CR0_CD | CR0_PG)
#define CR0_RESERVED_HIGH (~0ull << 32)

#define CR4_VME        (1ull << 0)
#define CR4_PVI        (1ull << 1)
#define CR4_TSD        (1ull << 2)
#define CR4_DE         (1ull << 3)
#define CR4_PSE        (1ull << 4)
#define CR4_PAE        (1ull << 5)
#define CR4_MCE        (1ull << 6)
#define CR4_PGE        (1ull << 7)
#define CR4_PCE        (1ull << 8)
#define CR4_OSFXSR     (1ull << 9)
#define CR4_OSXMMEXCPT (1ull << 10)
#define CR4_UMIP       (1ull << 11)
#define CR4_LA57       (1ull << 12)
#define CR4_VMXE       (1ull << 13)
#define CR4_SMXE       (1ull << 14)
#define CR4_FSGSBASE   (1ull << 16)
#define CR4_PCIDE      (1ull << 17)
#define CR4_OSXSAVE    (1ull << 18)
#define CR4_SMEP       (1ull << 20)
#define CR4_SMAP       (1ull << 21)

#define DEFINE_CR_ACCESSORS(n)                                                          \
	static inline uint64_t read_cr##n(void)                                         \
	{                                                                               \
		uint64_t v;                                                             \
		__asm__ volatile("mov %%cr" #n ", %0" : "=r"(v));                       \
		return v;                                                               \
	}                                                                               \
	static inline void write_cr##n(uint64_t v) { __asm__ volatile("mov %0, %%cr" #n ::"r"(v) : "memory"); }

DEFINE_CR_ACCESSORS(0)
DEFINE_CR_ACCESSORS(2)
DEFINE_CR_ACCESSORS(3)
DEFINE_CR_ACCESSORS(4)
#undef DEFINE_CR_ACCESSORS

/*
 * DR6 (SDM Vol. 3B 18.2.3); the exit qualification of a #DB exit reports the
 * same bits at the same positions (SDM Vol. 3C 28.2.1, Table 28-1).
 */
#define DR6_B0_B3 0xfull       /* breakpoint conditions 0-3 met */
#define DR6_BD    (1ull << 13) /* debug-register access detected */
#define DR6_BS    (1ull << 14) /* single step */

static inline uint64_t read_dr6(void)
{
	uint64_t v;
	__asm__ volatile("mov %%dr6, %0" : "=r"(v));
	return v;
}

static inline void write_dr6(uint64_t v) { __asm__ volatile("mov %0, %%dr6" ::"r"(v)); }

static inline uint64_t read_dr7(void)
{
	uint64_t v;
	__asm__ volatile("mov %%dr7, %0" : "=r"(v));
	return v;
}

static inline uint64_t read_rflags(void)
{
	uint64_t v;
	__asm__ volatile("pushfq; popq %0" : "=r"(v));
	return v;
}

static inline void xsetbv(uint32_t index, uint64_t value)
{
	__asm__ volatile("xsetbv" ::"c"(index), "a"((uint32_t)value), "d"((uint32_t)(value >> 32)));
}

static inline uint64_t xgetbv(uint32_t index)
{
	uint32_t lo, hi;
	__asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(index));
	return ((uint64_t)hi << 32) | lo;
}

#endif
