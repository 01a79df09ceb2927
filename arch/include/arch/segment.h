/* Segment descriptors, TSS, IDT gates (SDM Vol. 3A 3.4.5, 7.2.3, 6.14.1). */
#ifndef ARCH_SEGMENT_H
#define ARCH_SEGMENT_H

#include <stdint.h>

struct __attribute__((packed)) descriptor_table_ptr {
	uint16_t limit;
	uint64_t base;
};

/* 64-bit TSS (SDM Vol. 3A 8.7, Figure 8-11). */
struct __attribute__((packed)) tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
};

/* 64-bit interrupt gate (SDM Vol. 3A 6.14.1, Figure 6-8). */
struct __attribute__((packed)) idt_gate64 {
	uint16_t offset_lo;
	uint16_t selector;
	uint8_t ist;
	uint8_t type_attr;
	uint16_t offset_mid;
	uint32_t offset_hi;
	uint32_t reserved;
};

#define SEG_TYPE_TSS64_AVAILABLE 0x9
#define SEG_TYPE_INTERRUPT_GATE  0xe
#define SEG_PRESENT              0x80
#define SEG_DPL(n)               ((n) << 5)

/* Access-rights byte + flags of code/data descriptors (SDM Vol. 3A 3.4.5). */
#define DESC_ACCESSED  (1ull << 40)
#define DESC_RW        (1ull << 41)
#define DESC_CODE      (1ull << 43)
#define DESC_S         (1ull << 44)
#define DESC_PRESENT   (1ull << 47)
#define DESC_L         (1ull << 53)
#define DESC_DB        (1ull << 54)
#define DESC_G         (1ull << 55)
#define DESC_LIMIT_MAX (0xffffull | (0xfull << 48))

/* Segment selectors (SDM Vol. 3A 3.4.2, Figure 3-6). */
#define SELECTOR_RPL_MASK   0x3u
#define SELECTOR_TI         (1u << 2)   /* 1: the selector indexes the LDT */
#define SELECTOR_INDEX_MASK 0xfff8u
#define DESCRIPTOR_SIZE     8u          /* a legacy (non-IA-32e) descriptor */

/*
 * Fields of an 8-byte segment or system descriptor (SDM Vol. 3A 3.4.5, Figure 3-8):
 * limit 15:0 and base 23:0 in the low dword, base 31:24 and limit 19:16 above.
 */
#define DESC_LIMIT_LO(d)   ((uint32_t)((d) & 0xffffu))
#define DESC_LIMIT_HI(d)   ((uint32_t)(((d) >> 48) & 0xfu))
#define DESC_BASE_LO(d)    ((uint32_t)(((d) >> 16) & 0xffffffu))
#define DESC_BASE_HI(d)    ((uint32_t)(((d) >> 56) & 0xffu))
#define DESC_TYPE_SHIFT    40
#define DESC_TYPE_MASK     0xfu
#define DESC_DPL_SHIFT     45
#define DESC_DPL_MASK      0x3u
#define DESC_LIMIT_GRANULE_SHIFT 12     /* G = 1: the limit counts 4-KiB units */
#define DESC_LIMIT_GRANULE_FILL  0xfffu

/* The type field: code and data segments (S = 1, SDM Vol. 3A 3.4.5.1, Table 3-1). */
#define SEG_TYPE_ACCESSED      0x1u
#define SEG_TYPE_DATA_WRITABLE 0x2u
#define SEG_TYPE_CODE_READABLE 0x2u
#define SEG_TYPE_CONFORMING    0x4u
#define SEG_TYPE_CODE          0x8u
/* System segments and gates (S = 0, SDM Vol. 3A 3.5, Table 3-2), legacy mode. */
/* (LDT 0x2, 16-bit TSS busy 0x3, 32-bit TSS available 0x9 / busy 0xb: arch/vmx_state.h) */
#define SEG_TYPE_TSS16_AVAILABLE 0x1u
#define SEG_TYPE_TASK_GATE     0x5u
#define SEG_TYPE_TSS_BUSY_FLAG 0x2u     /* the B flag of a TSS descriptor (SDM Vol. 3A 7.2.2) */
#define SEG_TYPE_TSS_32BIT     0x8u     /* 32-bit TSS (else 16-bit) */

/* 32-bit task-state segment (SDM Vol. 3A 7.2.1, Figure 7-2); selectors are 16 bits + 16 reserved. */
struct __attribute__((packed)) tss32 {
	uint16_t prev_task_link, reserved_link;
	uint32_t esp0; uint16_t ss0, reserved_ss0;
	uint32_t esp1; uint16_t ss1, reserved_ss1;
	uint32_t esp2; uint16_t ss2, reserved_ss2;
	uint32_t cr3;
	uint32_t eip;
	uint32_t eflags;
	uint32_t eax, ecx, edx, ebx, esp, ebp, esi, edi;
	uint16_t es, reserved_es;
	uint16_t cs, reserved_cs;
	uint16_t ss, reserved_ss;
	uint16_t ds, reserved_ds;
	uint16_t fs, reserved_fs;
	uint16_t gs, reserved_gs;
	uint16_t ldt_selector, reserved_ldt;
	uint16_t trap;          /* bit 0: T, debug trap on switch to this task */
	uint16_t iomap_base;
};
_Static_assert(sizeof(struct tss32) == 0x68, "32-bit TSS layout (SDM Vol. 3A Figure 7-2)");
#define TSS32_MIN_LIMIT 0x67u           /* SDM Vol. 3A 7.2.2: a 32-bit TSS limit must be >= 67H */
#define TSS16_MIN_LIMIT 0x2bu           /* and a 16-bit one >= 2BH (SDM Vol. 3A 7.3) */
/* The dynamic fields the processor saves at a task switch: EIP .. GS (SDM Vol. 3A 7.2.1). */
#define TSS32_DYNAMIC_START __builtin_offsetof(struct tss32, eip)
#define TSS32_DYNAMIC_END   __builtin_offsetof(struct tss32, ldt_selector)
#define TSS_TRAP_T 0x1u

static inline void lgdt(const struct descriptor_table_ptr *p) { __asm__ volatile("lgdt %0" ::"m"(*p)); }
static inline void lidt(const struct descriptor_table_ptr *p) { __asm__ volatile("lidt %0" ::"m"(*p)); }
static inline void ltr(uint16_t sel) { __asm__ volatile("ltr %0" ::"r"(sel)); }
static inline void sgdt(struct descriptor_table_ptr *p) { __asm__ volatile("sgdt %0" : "=m"(*p)); }
static inline void sidt(struct descriptor_table_ptr *p) { __asm__ volatile("sidt %0" : "=m"(*p)); }

static inline uint16_t read_cs(void) { uint16_t v; __asm__ volatile("mov %%cs, %0" : "=r"(v)); return v; }
static inline uint16_t read_ss(void) { uint16_t v; __asm__ volatile("mov %%ss, %0" : "=r"(v)); return v; }
static inline uint16_t read_ds(void) { uint16_t v; __asm__ volatile("mov %%ds, %0" : "=r"(v)); return v; }
static inline uint16_t read_es(void) { uint16_t v; __asm__ volatile("mov %%es, %0" : "=r"(v)); return v; }
static inline uint16_t read_fs(void) { uint16_t v; __asm__ volatile("mov %%fs, %0" : "=r"(v)); return v; }
static inline uint16_t read_gs(void) { uint16_t v; __asm__ volatile("mov %%gs, %0" : "=r"(v)); return v; }
static inline uint16_t read_tr(void) { uint16_t v; __asm__ volatile("str %0" : "=r"(v)); return v; }

/* Exception vectors (SDM Vol. 3A 6.3.1, Table 6-1). */
#define EXCEPTION_TABLE(X)                         \
	X(DE, 0, "divide error", 0)                \
	X(DB, 1, "debug", 0)                       \
	X(NMI, 2, "NMI", 0)                        \
	X(BP, 3, "breakpoint", 0)                  \
	X(OF, 4, "overflow", 0)                    \
	X(BR, 5, "BOUND range exceeded", 0)        \
	X(UD, 6, "invalid opcode", 0)              \
	X(NM, 7, "device not available", 0)        \
	X(DF, 8, "double fault", 1)                \
	X(CSO, 9, "coprocessor segment overrun", 0)\
	X(TS, 10, "invalid TSS", 1)                \
	X(NP, 11, "segment not present", 1)        \
	X(SS, 12, "stack-segment fault", 1)        \
	X(GP, 13, "general protection", 1)         \
	X(PF, 14, "page fault", 1)                 \
	X(MF, 16, "x87 floating-point error", 0)   \
	X(AC, 17, "alignment check", 1)            \
	X(MC, 18, "machine check", 0)              \
	X(XM, 19, "SIMD floating-point", 0)        \
	X(VE, 20, "virtualization exception", 0)   \
	X(CP, 21, "control protection", 1)

enum exception_vector {
#define X(mn, vec, text, has_error) VECTOR_##mn = vec,
	EXCEPTION_TABLE(X)
#undef X
	VECTOR_EXCEPTION_COUNT = 32,
};

/* Name of an exception vector ("page fault"), or "reserved". */
const char *exception_name(unsigned vector);
/* Whether the vector pushes an error code. */
int exception_has_error_code(unsigned vector);

#endif
