/*
 * The guest kernel's fixed layout: segment selectors, stacks, the kernel
 * half of every address space.  guest/start.asm repeats the selectors.
 */
#ifndef GUEST_LAYOUT_H
#define GUEST_LAYOUT_H

#include <arch/paging.h>

#define KERNEL_LOAD_ADDR 0x100000ull /* guest-physical = virtual (identity map) */

/*
 * GDT slots.  SYSCALL/SYSRET impose the order (SDM Vol. 2B, SYSCALL and
 * SYSRET; Vol. 3A 5.8.8): SYSCALL loads CS = STAR[47:32] and SS = that + 8;
 * 64-bit SYSRET loads SS = STAR[63:48] + 8 and CS = STAR[63:48] + 16, both
 * with RPL 3.  So: kernel code, kernel data, user data, user code.
 */
enum gdt_slot {
	GDT_NULL = 0,
	GDT_KERNEL_CODE = 1,
	GDT_KERNEL_DATA = 2,
	GDT_USER_DATA = 3,
	GDT_USER_CODE = 4,
	GDT_TSS = 5,     /* a 64-bit TSS descriptor takes two slots (SDM Vol. 3A 8.2.3) */
	GDT_ENTRIES = 7,
};
#define SELECTOR_RPL_USER 3u
#define SEL(slot)         ((uint16_t)((slot) * 8u))
#define SEL_KERNEL_CODE   SEL(GDT_KERNEL_CODE)
#define SEL_KERNEL_DATA   SEL(GDT_KERNEL_DATA)
#define SEL_USER_DATA     (SEL(GDT_USER_DATA) | SELECTOR_RPL_USER)
#define SEL_USER_CODE     (SEL(GDT_USER_CODE) | SELECTOR_RPL_USER)
#define SEL_TSS           SEL(GDT_TSS)
#define STAR_SYSCALL_SHIFT 32
#define STAR_SYSRET_SHIFT  48
#define STAR_SYSRET_BASE   SEL(GDT_KERNEL_DATA) /* user SS = base + 8, user CS = base + 16 */

#define KSTACK_SIZE    0x4000ull /* per process */
#define IST_STACK_SIZE 0x2000ull /* for #DF */
#define IST_DOUBLE_FAULT 1

/*
 * The kernel half: PML4 slot 0, shared by every address space (one PDPT).
 * Guest RAM is identity-mapped there, supervisor-only, except page 0 (left
 * unmapped to catch null pointers).  KERNEL_DEMAND_BASE is a kernel region
 * far above any RAM whose pages the kernel maps on first touch.
 */
#define KERNEL_HALF_SLOT     0
#define USER_HALF_SLOT       1
#define KERNEL_MAP_MAX       (64ull << 30) /* identity-map at most this much RAM */
#define KERNEL_DEMAND_BASE   0x0000004000000000ull /* 256 GiB */
#define KERNEL_DEMAND_PAGES  64

#endif
