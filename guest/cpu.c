/*
 * The kernel's CPU tables: GDT (with user segments and a 64-bit TSS), TSS,
 * IDT.  The GDT is also what guest/start.asm loads in 32-bit mode.
 */
#include <string.h>
#include <arch/segment.h>
#include "guest/layout.h"
#include "guest/priv.h"
#include "guest/smp.h"
#include "guest/trap.h"

/* Code/data descriptor fields (SDM Vol. 3A 3.4.5, Figure 3-8). */
#define DESC_DPL(n)  ((uint64_t)(n) << 45)
#define DESC_FLAT    (DESC_PRESENT | DESC_S | DESC_G | DESC_LIMIT_MAX | DESC_ACCESSED)
#define DESC_CODE64  (DESC_FLAT | DESC_CODE | DESC_RW | DESC_L) /* L = 1 needs D = 0 */
#define DESC_DATA    (DESC_FLAT | DESC_RW | DESC_DB)
#define DPL_USER     3

/* 64-bit TSS descriptor (SDM Vol. 3A 8.2.3, Figure 8-4): where the pieces of base and limit go. */
#define TSS_DESC_LIMIT_LOW_MASK   0xffffull   /* limit 15:0 -> bits 15:0 */
#define TSS_DESC_BASE_LOW_SHIFT   16          /* base 23:0 -> bits 39:16 */
#define TSS_DESC_BASE_LOW_MASK    0xffffffull
#define TSS_DESC_TYPE_SHIFT       40
#define TSS_DESC_LIMIT_HIGH_SHIFT 48          /* limit 19:16 -> bits 51:48 */
#define TSS_DESC_LIMIT_HIGH_MASK  0xfull
#define TSS_DESC_BASE_MID_SHIFT   56          /* base 31:24 -> bits 63:56 */
#define TSS_DESC_BASE_MID_MASK    0xffull
#define TSS_DESC_BUSY             (2ull << TSS_DESC_TYPE_SHIFT) /* type 1011b: busy TSS */
#define TSS_LIMIT_HIGH_BIT        16          /* limit 19:16 */
#define TSS_BASE_MID_BIT          24          /* base 31:24 */
#define TSS_BASE_HIGH_BIT         32          /* base 63:32, in the descriptor's second slot */
#define GATE_OFFSET_MID_BIT       16          /* IDT gate: offset 31:16 */
#define GATE_OFFSET_HIGH_BIT      32          /* IDT gate: offset 63:32 */

uint64_t gdt[GDT_ENTRIES] = {
	[GDT_KERNEL_CODE] = DESC_CODE64,
	[GDT_KERNEL_DATA] = DESC_DATA,
	[GDT_USER_DATA] = DESC_DATA | DESC_DPL(DPL_USER),
	[GDT_USER_CODE] = DESC_CODE64 | DESC_DPL(DPL_USER),
	/* [GDT_TSS]: filled by cpu_tables_init (the base is only known at link time) */
};
/* In 32-bit mode LGDT reads the limit and the low 32 bits of the base only. */
struct descriptor_table_ptr gdt_ptr = { sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt };

static struct idt_gate64 idt[IDT_VECTORS];
static uint8_t ist_stack[IST_STACK_SIZE] __attribute__((aligned(16)));
extern const uint64_t isr_table[IDT_VECTORS]; /* guest/entry.asm: exceptions, then interrupts */

uint64_t exit_ledger[HV_STATS_REASONS];

static void set_tss_descriptor(uint64_t *gdt, const struct tss64 *t)
{
	const uint64_t base = (uint64_t)(uintptr_t)t;
	const uint64_t limit = sizeof(*t) - 1;
	gdt[GDT_TSS] = (limit & TSS_DESC_LIMIT_LOW_MASK) | ((base & TSS_DESC_BASE_LOW_MASK) << TSS_DESC_BASE_LOW_SHIFT) |
		       ((uint64_t)SEG_TYPE_TSS64_AVAILABLE << TSS_DESC_TYPE_SHIFT) | DESC_PRESENT |
		       (((limit >> TSS_LIMIT_HIGH_BIT) & TSS_DESC_LIMIT_HIGH_MASK) << TSS_DESC_LIMIT_HIGH_SHIFT) |
		       (((base >> TSS_BASE_MID_BIT) & TSS_DESC_BASE_MID_MASK) << TSS_DESC_BASE_MID_SHIFT);
	gdt[GDT_TSS + 1] = base >> TSS_BASE_HIGH_BIT;
}

bool tss_descriptor_busy(void)
{
	return (gdt[GDT_TSS] & TSS_DESC_BUSY) != 0;
}

static void set_gate(unsigned vector, uint64_t handler, uint8_t ist)
{
	idt[vector] = (struct idt_gate64){
		.offset_lo = (uint16_t)handler,
		.selector = SEL_KERNEL_CODE,
		.ist = ist,
		.type_attr = SEG_PRESENT | SEG_DPL(0) | SEG_TYPE_INTERRUPT_GATE,
		.offset_mid = (uint16_t)(handler >> GATE_OFFSET_MID_BIT),
		.offset_hi = (uint32_t)(handler >> GATE_OFFSET_HIGH_BIT),
	};
}

/* This CPU's TSS (the bootstrap processor's is cpu_boot's too): ring 3 -> ring 0 interrupts switch to RSP0. */
void tss_set_kernel_stack(uint64_t rsp0)
{
	this_cpu()->tss.rsp[0] = rsp0;
}

void cpu_tables_init(void)
{
	/* No I/O permission bitmap: the map base lies at the TSS limit, so ring 3 IN/OUT fault (SDM Vol. 1 19.5.2). */
	struct tss64 *tss = &cpu_boot.tss;
	tss->iomap_base = sizeof(*tss);
	tss->ist[IST_DOUBLE_FAULT - 1] = (uint64_t)(uintptr_t)(ist_stack + sizeof(ist_stack));
	cpu_boot.ist_top = tss->ist[IST_DOUBLE_FAULT - 1];
	set_tss_descriptor(gdt, tss);
	priv_lgdt(&gdt_ptr); /* again, now with the full 64-bit base */
	priv_ltr(SEL_TSS);

	for (unsigned v = 0; v < IDT_VECTORS; v++)
		set_gate(v, isr_table[v], v == VECTOR_DF ? IST_DOUBLE_FAULT : 0);
	struct descriptor_table_ptr idtr = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
	priv_lidt(&idtr);
}

/* An AP: a copy of the kernel's GDT with a TSS descriptor of its own (LTR marks it busy), its stacks. */
void cpu_tables_init_ap(struct cpu *c)
{
	memcpy(c->gdt, gdt, sizeof(c->gdt));
	_Static_assert(sizeof(c->gdt) == sizeof(gdt), "one GDT layout");
	c->tss.iomap_base = sizeof(c->tss);
	c->tss.rsp[0] = c->stack_top;
	c->tss.ist[IST_DOUBLE_FAULT - 1] = c->ist_top;
	set_tss_descriptor(c->gdt, &c->tss);
	const struct descriptor_table_ptr g = { sizeof(c->gdt) - 1, (uint64_t)(uintptr_t)c->gdt };
	priv_lgdt(&g);
	priv_ltr(SEL_TSS);
	const struct descriptor_table_ptr idtr = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
	priv_lidt(&idtr);
}

void cpu_get_table_ptrs(struct descriptor_table_ptr *gdtr, struct descriptor_table_ptr *idtr)
{
	*gdtr = gdt_ptr;
	*idtr = (struct descriptor_table_ptr){ sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
}
