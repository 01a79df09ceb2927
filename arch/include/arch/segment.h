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
