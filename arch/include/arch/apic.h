/* The local APIC (SDM Vol. 3A chapter 11): register offsets, bits, x2APIC MSRs. One table. */
#ifndef ARCH_APIC_H
#define ARCH_APIC_H

#include <stdint.h>

/*
 * Access rules of a register (SDM Vol. 3A Table 11-1 for xAPIC, Table 11-6 for x2APIC).
 * APIC_RW: read and written.  APIC_RO: read only; APIC_WO: write only.  APIC_X2_RO: read only
 * in x2APIC mode (ID, LDR).  APIC_XAPIC_ONLY / APIC_X2APIC_ONLY: absent in the other mode.
 */
#define APIC_R           (1u << 0)
#define APIC_W           (1u << 1)
#define APIC_RW          (APIC_R | APIC_W)
#define APIC_RO          APIC_R
#define APIC_WO          APIC_W
#define APIC_X2_RO       (1u << 2)
#define APIC_XAPIC_ONLY  (1u << 3)
#define APIC_X2APIC_ONLY (1u << 4)
#define APIC_ARRAY       (1u << 5) /* the first of eight (ISR, TMR, IRR: 256 bits) */

/*
 * X(name, xAPIC MMIO offset, access, writable bits).  The x2APIC MSR of a register is
 * 0x800 + offset / 16 (SDM 11.12.1.2).  ISR, TMR and IRR are eight registers each, 16 bytes apart.
 */
#define APIC_REGISTERS(X)                                                      \
	X(ID,          0x020, APIC_RW | APIC_X2_RO,       0xff000000u)         \
	X(VERSION,     0x030, APIC_RO,                    0)                   \
	X(TPR,         0x080, APIC_RW,                    0x000000ffu)         \
	X(APR,         0x090, APIC_RO | APIC_XAPIC_ONLY,  0)                   \
	X(PPR,         0x0a0, APIC_RO,                    0)                   \
	X(EOI,         0x0b0, APIC_WO,                    0xffffffffu)         \
	X(LDR,         0x0d0, APIC_RW | APIC_X2_RO,       0xff000000u)         \
	X(DFR,         0x0e0, APIC_RW | APIC_XAPIC_ONLY,  0xf0000000u)         \
	X(SVR,         0x0f0, APIC_RW,                    0x000003ffu)         \
	X(ISR0,        0x100, APIC_RO | APIC_ARRAY,       0)                   \
	X(TMR0,        0x180, APIC_RO | APIC_ARRAY,       0)                   \
	X(IRR0,        0x200, APIC_RO | APIC_ARRAY,       0)                   \
	X(ESR,         0x280, APIC_RW,                    0)                   \
	X(LVT_CMCI,    0x2f0, APIC_RW,                    0x000107ffu)         \
	X(ICR_LO,      0x300, APIC_RW,                    0x000ccfffu)         \
	X(ICR_HI,      0x310, APIC_RW | APIC_XAPIC_ONLY,  0xff000000u)         \
	X(LVT_TIMER,   0x320, APIC_RW,                    0x000700ffu)         \
	X(LVT_THERMAL, 0x330, APIC_RW,                    0x000107ffu)         \
	X(LVT_PERF,    0x340, APIC_RW,                    0x000107ffu)         \
	X(LVT_LINT0,   0x350, APIC_RW,                    0x0001a7ffu)         \
	X(LVT_LINT1,   0x360, APIC_RW,                    0x0001a7ffu)         \
	X(LVT_ERROR,   0x370, APIC_RW,                    0x000100ffu)         \
	X(TIMER_ICR,   0x380, APIC_RW,                    0xffffffffu)         \
	X(TIMER_CCR,   0x390, APIC_RO,                    0)                   \
	X(TIMER_DCR,   0x3e0, APIC_RW,                    0x0000000bu)         \
	X(SELF_IPI,    0x3f0, APIC_WO | APIC_X2APIC_ONLY, 0x000000ffu)

enum apic_reg_offset {
#define X(name, off, access, wmask) APIC_REG_##name = off,
	APIC_REGISTERS(X)
#undef X
};

#define APIC_REG_STRIDE   0x10u  /* registers are 16-byte aligned in the xAPIC page */
#define APIC_REG_SPAN     0x400u /* the last register ends below 0x400 */
#define APIC_VECTOR_REGS  8u     /* ISR/TMR/IRR: 256 bits in eight 32-bit registers */
#define APIC_VECTORS      256u
#define APIC_VECTOR_MASK  0xffu

/* IA32_APIC_BASE (SDM Vol. 3A 11.4.4, 11.12.1). */
#define APIC_BASE_BSP         (1ull << 8)
#define APIC_BASE_EXTD        (1ull << 10) /* x2APIC mode */
#define APIC_BASE_EN          (1ull << 11) /* APIC global enable */
#define APIC_BASE_ADDR_MASK   (~0xfffull)
#define APIC_BASE_DEFAULT     0xfee00000ull
#define APIC_MMIO_SIZE        0x1000u

/* x2APIC MSRs (SDM Vol. 3A 11.12.1.2): 0x800 + offset / 16; the ICR is one 64-bit MSR. */
#define X2APIC_MSR_BASE   0x800u
#define X2APIC_MSR_LAST   0x8ffu
#define X2APIC_MSR(off)   (X2APIC_MSR_BASE + ((off) >> 4))
#define X2APIC_MSR_OFFSET(msr) (((msr) - X2APIC_MSR_BASE) << 4)

/* Version register: version 0x14 (integrated APIC), six as the highest LVT index (CMCI..error). */
#define APIC_VERSION_INTEGRATED 0x14u
#define APIC_VERSION_MAX_LVT_SHIFT 16
#define APIC_LVT_COUNT 7u

/* Task and processor priority (SDM 11.8.3.1): the priority class is the vector's high nibble. */
#define APIC_PRIORITY_CLASS(v) (((v) >> 4) & 0xfu)
#define APIC_PRIORITY_MASK     0xf0u
#define APIC_TPR_MASK          0xffu
#define APIC_CR8_MASK          0xfull /* CR8[3:0] = TPR[7:4] (SDM 11.8.6.1) */
#define APIC_CR8_TPR_SHIFT     4

/* Spurious-interrupt vector register (SDM 11.9). */
#define APIC_SVR_VECTOR_MASK   0xffu
#define APIC_SVR_ENABLE        (1u << 8)  /* APIC software enable */
#define APIC_SVR_FOCUS_OFF     (1u << 9)
#define APIC_SVR_RESET         0xffu

/* Logical destination (SDM 11.6.2.2; x2APIC 11.12.10.2). */
#define APIC_DFR_FLAT          0xffffffffu
#define X2APIC_LDR_CLUSTER_SHIFT 16
#define X2APIC_LDR_MEMBERS_MASK 0xffffu /* logical x2APIC: bits 15:0 name the members of the cluster (SDM 11.12.10.2) */
#define XAPIC_CLUSTER_SHIFT    4        /* xAPIC cluster model: cluster in bits 7:4 of the logical ID (SDM 11.6.2.2) */
#define XAPIC_CLUSTER_MEMBERS  0xfu
#define X2APIC_LDR_ID_MASK     0xfu
#define XAPIC_ID_SHIFT         24

/* LVT entries (SDM 11.5.1, Figure 11-8). */
#define APIC_LVT_VECTOR_MASK   0xffu
#define APIC_LVT_DELIVERY_MODE(l) (((l) >> 8) & 0x7u)
#define APIC_LVT_DELIVERY_STATUS (1u << 12)
#define APIC_LVT_DELIVERY_FIXED  0u
#define APIC_LVT_DELIVERY_NMI    4u
#define APIC_LVT_MASKED        (1u << 16)
#define APIC_LVT_TIMER_MODE_SHIFT 17
#define APIC_LVT_TIMER_MODE_MASK (3u << APIC_LVT_TIMER_MODE_SHIFT)
#define APIC_LVT_TIMER_ONESHOT  (0u << APIC_LVT_TIMER_MODE_SHIFT)
#define APIC_LVT_TIMER_PERIODIC (1u << APIC_LVT_TIMER_MODE_SHIFT)
#define APIC_LVT_TIMER_TSC_DEADLINE (2u << APIC_LVT_TIMER_MODE_SHIFT)

/* Divide configuration (SDM 11.5.4, Figure 11-10): bits 0, 1 and 3; 1011b divides by 1. */
#define APIC_DCR_BITS_LOW      0x3u
#define APIC_DCR_BIT_HIGH      0x8u
#define APIC_DCR_DIVIDE_BY_1   0xbu

/* Interrupt command register (SDM 11.6.1, Figure 11-12). */
#define APIC_ICR_VECTOR_MASK     0xffu
#define APIC_ICR_DELIVERY_MODE(i) (((i) >> 8) & 0x7u)
#define APIC_ICR_DELIVERY_FIXED  0u
#define APIC_ICR_DELIVERY_LOWEST 1u
#define APIC_ICR_DELIVERY_SMI    2u
#define APIC_ICR_DELIVERY_NMI    4u
#define APIC_ICR_DELIVERY_INIT   5u
#define APIC_ICR_DELIVERY_STARTUP 6u
#define APIC_ICR_DELIVERY_SHIFT  8
#define APIC_ICR_DEST_LOGICAL    (1u << 11)
#define APIC_ICR_DELIVERY_STATUS (1u << 12)
#define APIC_ICR_LEVEL_ASSERT    (1u << 14)
#define APIC_ICR_TRIGGER_LEVEL   (1u << 15)
#define APIC_ICR_SHORTHAND_SHIFT 18
#define APIC_ICR_SHORTHAND(i)    (((i) >> 18) & 0x3u)
#define APIC_ICR_DEST_FIELD      0u
#define APIC_ICR_DEST_SELF       1u
#define APIC_ICR_DEST_ALL_INCL   2u
#define APIC_ICR_DEST_ALL_EXCL   3u
#define XAPIC_ICR_DEST_SHIFT     24 /* ICR_HI bits 31:24 */
#define X2APIC_ICR_DEST_SHIFT    32 /* the x2APIC ICR's bits 63:32 */
#define XAPIC_BROADCAST          0xffu
/*
 * A start-up IPI's vector is the page number of the real-mode code the AP runs (SDM 9.4.4.1,
 * 11.6.1): CS = vector << 8, IP = 0, so that code lies in [0x1000 * vector, ...) below 1 MiB.
 */
#define APIC_SIPI_PAGE_SHIFT     12
#define APIC_SIPI_VECTOR_MIN     0x01u /* page 0 holds the real-mode interrupt table */
#define APIC_SIPI_VECTOR_MAX     0x9fu /* 0xa0-0xbf is video memory, above it the BIOS ROMs (SDM: vectors 0xa0-0xbf are reserved) */
#define X2APIC_BROADCAST         0xffffffffu

/* Error status register bits (SDM 11.5.3, Figure 11-9). */
#define APIC_ESR_SEND_ILLEGAL_VECTOR     (1u << 5)
#define APIC_ESR_RECEIVE_ILLEGAL_VECTOR  (1u << 6)
#define APIC_ESR_ILLEGAL_REGISTER        (1u << 7)

/* Vectors 0-15 are reserved: the APIC refuses them (SDM 11.5.2). */
#define APIC_FIRST_VALID_VECTOR 16u

#endif
