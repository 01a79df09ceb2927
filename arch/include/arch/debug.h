/* Debug registers (SDM Vol. 3B 18.2) and the VMCS encodings that carry debug state (SDM Vol. 3C 25.4.2). */
#ifndef ARCH_DEBUG_H
#define ARCH_DEBUG_H

#include <stdint.h>

#define DR_BREAKPOINTS 4 /* DR0-DR3 */

/* DR6, the debug status register (SDM Vol. 3B 18.2.3). */
#define DR6_B(n)       (1ull << (n)) /* breakpoint n's condition was met */
#define DR6_B_ALL      0xfull
#define DR6_BD         (1ull << 13)
#define DR6_BS         (1ull << 14) /* single step */
#define DR6_BT         (1ull << 15)
#define DR6_INIT       0xffff0ff0ull /* value at reset: reserved bits read as 1, no condition */

/* DR7, the debug control register (SDM Vol. 3B 18.2.4). */
#define DR7_L(n)       (1ull << (2 * (n)))     /* local enable of breakpoint n */
#define DR7_G(n)       (1ull << (2 * (n) + 1)) /* global enable of breakpoint n */
#define DR7_ENABLES    0xffull                 /* L0-L3 and G0-G3 */
#define DR7_FIXED_ONE  (1ull << 10)            /* bit 10 reads as 1 */
#define DR7_RW_SHIFT(n)  (16 + 4 * (n))        /* R/Wn: bits 17:16 for breakpoint 0, ... */
#define DR7_LEN_SHIFT(n) (18 + 4 * (n))        /* LENn: bits 19:18 for breakpoint 0, ... */
#define DR7_FIELD_MASK 0x3ull
#define DR7_RW(n, rw)   ((uint64_t)(rw) << DR7_RW_SHIFT(n))
#define DR7_LEN(n, len) ((uint64_t)(len) << DR7_LEN_SHIFT(n))

/* R/W field values (SDM Vol. 3B 18.2.4). */
enum dr7_rw {
	DR7_RW_EXECUTE = 0,    /* instruction execution */
	DR7_RW_WRITE = 1,      /* data writes */
	DR7_RW_IO = 2,         /* I/O reads or writes; defined only with CR4.DE = 1 */
	DR7_RW_READ_WRITE = 3, /* data reads or writes, not instruction fetches */
};

/* LEN field values: the size of the watched range (SDM Vol. 3B 18.2.5). */
enum dr7_len {
	DR7_LEN_1 = 0,
	DR7_LEN_2 = 1,
	DR7_LEN_8 = 2, /* in IA-32e mode (undefined on some older processors otherwise) */
	DR7_LEN_4 = 3,
};

/* RFLAGS.RF, the resume flag (SDM Vol. 3B 18.3.1.1); IA32_DEBUGCTL.BTF: single-step on branches (18.4.3). */
#define RFLAGS_RF        (1ull << 16)
#define DEBUGCTL_BTF     (1ull << 1)

/* Pending debug exceptions, a guest-state field (SDM Vol. 3C 25.4.2, Table 25-4). */
#define PENDING_DBG_B_ALL      0xfull        /* B3-B0: those breakpoint conditions were met */
#define PENDING_DBG_ENABLED_BP (1ull << 12)  /* at least one of them was enabled in DR7 */
#define PENDING_DBG_BS         (1ull << 14)  /* a single-step trap */

/* Interruptibility state (SDM Vol. 3C 25.4.2, Table 25-3). */
#define INTERRUPTIBILITY_STI    (1u << 0) /* blocking by STI */
#define INTERRUPTIBILITY_MOV_SS (1u << 1) /* blocking by MOV SS / POP SS */
#define INTERRUPTIBILITY_NMI    (1u << 3) /* blocking by NMI (virtual-NMI blocking with "virtual NMIs") */

/* MOV from/to DR0-DR3 and DR6 (the monitor never changes the guest's: no MOV-DR exiting). */
static inline uint64_t read_dr(unsigned n)
{
	uint64_t v = 0;
	switch (n) {
	case 0: __asm__ volatile("mov %%dr0, %0" : "=r"(v)); break;
	case 1: __asm__ volatile("mov %%dr1, %0" : "=r"(v)); break;
	case 2: __asm__ volatile("mov %%dr2, %0" : "=r"(v)); break;
	case 3: __asm__ volatile("mov %%dr3, %0" : "=r"(v)); break;
	case 6: __asm__ volatile("mov %%dr6, %0" : "=r"(v)); break;
	case 7: __asm__ volatile("mov %%dr7, %0" : "=r"(v)); break;
	}
	return v;
}

static inline void write_dr(unsigned n, uint64_t v)
{
	switch (n) {
	case 0: __asm__ volatile("mov %0, %%dr0" ::"r"(v)); break;
	case 1: __asm__ volatile("mov %0, %%dr1" ::"r"(v)); break;
	case 2: __asm__ volatile("mov %0, %%dr2" ::"r"(v)); break;
	case 3: __asm__ volatile("mov %0, %%dr3" ::"r"(v)); break;
	case 6: __asm__ volatile("mov %0, %%dr6" ::"r"(v)); break;
	case 7: __asm__ volatile("mov %0, %%dr7" ::"r"(v)); break;
	}
}

#endif
