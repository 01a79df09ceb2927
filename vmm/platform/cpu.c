/* The monitor's GDT, TSS and IDT, and its exception handler. */
#include <stddef.h>
#include <string.h>
#include <arch/cr.h>
#include <arch/segment.h>
#include "vmm/boot.h"
#include <arch/msr.h>
#include "vmm/cpu.h"
#include "vmm/host_apic.h"
#include "vmm/log.h"
#include "vmm/pcpu.h"
#include "vmm/power.h"
#include "vmm/status.h"

/* The bootstrap processor's state, in the image: it is needed before the frame allocator exists. */
static struct pcpu bsp_pcpu;
/* Every physical CPU's state (vmm/pcpu.h), by index; each reaches its own through its GS base. */
static struct pcpu *pcpus[PCPU_MAX];

extern const uint64_t isr_stub_table[VECTOR_EXCEPTION_COUNT]; /* vmm/platform/isr.asm */
extern const char host_kick_isr[];                            /* vmm/platform/isr.asm */

const char *exception_name(unsigned vector)
{
	switch (vector) {
#define X(mn, vec, text, has_error) case vec: return "#" #mn " " text;
	EXCEPTION_TABLE(X)
#undef X
	default: return "reserved";
	}
}

int exception_has_error_code(unsigned vector)
{
	switch (vector) {
#define X(mn, vec, text, has_error) case vec: return has_error;
	EXCEPTION_TABLE(X)
#undef X
	default: return 0;
	}
}

static void set_tss_descriptor(uint64_t *slot, uint64_t base, uint32_t limit)
{
	slot[0] = (limit & 0xffffull) | ((base & 0xffffffull) << 16) |
		  ((uint64_t)(SEG_TYPE_TSS64_AVAILABLE | SEG_PRESENT) << 40) |
		  ((uint64_t)((limit >> 16) & 0xf) << 48) | (((base >> 24) & 0xffull) << 56);
	slot[1] = base >> 32;
}

struct pcpu *pcpu_get(unsigned index)
{
	return index < PCPU_MAX ? __atomic_load_n(&pcpus[index], __ATOMIC_ACQUIRE) : NULL;
}

struct pcpu *pcpu_init(unsigned index, struct pcpu *c)
{
	if (!c)
		c = &bsp_pcpu;
	uint64_t *gdt = c->gdt;
	struct tss64 *tss = &c->tss;
	struct idt_gate64 *idt = c->idt;
	struct descriptor_table_ptr p;

	c->self = c;
	c->index = index;

	gdt[0] = 0;
	gdt[GDT_SEL_KERNEL_CODE / 8] = DESC_LIMIT_MAX | DESC_ACCESSED | DESC_RW | DESC_CODE | DESC_S |
				       DESC_PRESENT | DESC_L | DESC_G;
	gdt[GDT_SEL_KERNEL_DATA / 8] = DESC_LIMIT_MAX | DESC_ACCESSED | DESC_RW | DESC_S | DESC_PRESENT |
				       DESC_DB | DESC_G;
	memset(tss, 0, sizeof(*tss));
	tss->ist[IST_DOUBLE_FAULT - 1] = (uint64_t)(uintptr_t)(c->ist_stacks[0] + PCPU_IST_SIZE);
	tss->ist[IST_NMI - 1] = (uint64_t)(uintptr_t)(c->ist_stacks[1] + PCPU_IST_SIZE);
	tss->ist[IST_MACHINE_CHECK - 1] = (uint64_t)(uintptr_t)(c->ist_stacks[2] + PCPU_IST_SIZE);
	tss->iomap_base = sizeof(*tss); /* no I/O permission bitmap */
	set_tss_descriptor(&gdt[GDT_SEL_TSS / 8], (uint64_t)(uintptr_t)tss, sizeof(*tss) - 1);

	p.limit = sizeof(c->gdt) - 1;
	p.base = (uint64_t)(uintptr_t)gdt;
	lgdt(&p);
	/* Reload CS through a far return, then the data segments. */
	__asm__ volatile("pushq %[cs]\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "movw %w[ds], %%ax\n\t"
			 "movw %%ax, %%ds\n\t"
			 "movw %%ax, %%es\n\t"
			 "movw %%ax, %%ss\n\t"
			 :
			 : [cs] "i"(GDT_SEL_KERNEL_CODE), [ds] "i"(GDT_SEL_KERNEL_DATA)
			 : "rax", "memory");
	ltr(GDT_SEL_TSS);

	for (unsigned v = 0; v < VECTOR_EXCEPTION_COUNT; v++) {
		uint64_t h = isr_stub_table[v];
		idt[v].offset_lo = h & 0xffff;
		idt[v].selector = GDT_SEL_KERNEL_CODE;
		idt[v].ist = v == VECTOR_DF ? IST_DOUBLE_FAULT : v == VECTOR_NMI ? IST_NMI
			   : v == VECTOR_MC ? IST_MACHINE_CHECK : 0;
		idt[v].type_attr = SEG_TYPE_INTERRUPT_GATE | SEG_PRESENT | SEG_DPL(0);
		idt[v].offset_mid = (h >> 16) & 0xffff;
		idt[v].offset_hi = h >> 32;
		idt[v].reserved = 0;
	}
	/* The kick between CPUs (vmm/host_apic.h): an interrupt gate, taken only while waiting for work. */
	const uint64_t kick = (uint64_t)(uintptr_t)host_kick_isr;
	idt[HOST_KICK_VECTOR] = (struct idt_gate64){
		.offset_lo = kick & 0xffff, .selector = GDT_SEL_KERNEL_CODE, .ist = 0,
		.type_attr = SEG_TYPE_INTERRUPT_GATE | SEG_PRESENT | SEG_DPL(0),
		.offset_mid = (kick >> 16) & 0xffff, .offset_hi = kick >> 32, .reserved = 0,
	};
	p.limit = sizeof(c->idt) - 1;
	p.base = (uint64_t)(uintptr_t)idt;
	lidt(&p);
	/* The GS base finds this CPU's pcpu (this_pcpu()); the data-segment load above left GS alone. */
	wrmsr(MSR_IA32_GS_BASE, (uint64_t)(uintptr_t)c);
	__atomic_store_n(&pcpus[index], c, __ATOMIC_RELEASE);
	return c;
}

uint64_t cpu_gdt_base(void) { return (uint64_t)(uintptr_t)this_pcpu()->gdt; }
uint64_t cpu_idt_base(void) { return (uint64_t)(uintptr_t)this_pcpu()->idt; }
uint64_t cpu_tss_base(void) { return (uint64_t)(uintptr_t)&this_pcpu()->tss; }

/* Called from vmm/platform/isr.asm: the monitor itself faulted.  Report and stop. */
void hv_exception(struct exception_frame *f)
{
	log_lock_break(); /* the fault may have come while this CPU printed */
	log_error("monitor exception %s (vector %llu), error code %#llx",
		  exception_name((unsigned)f->vector), (unsigned long long)f->vector,
		  (unsigned long long)f->error_code);
	hv_print("[hv]   RIP=%016llx CS=%04llx RFLAGS=%016llx RSP=%016llx SS=%04llx\n",
		 (unsigned long long)f->rip, (unsigned long long)f->cs, (unsigned long long)f->rflags,
		 (unsigned long long)f->rsp, (unsigned long long)f->ss);
	if (f->rip >= (uint64_t)(uintptr_t)hv_image_start && f->rip < (uint64_t)(uintptr_t)hv_image_end)
		/* The image is linked at 0 (linker.ld): its offset is the address in build/hv.elf. */
		hv_print("[hv]   RIP is at offset %#llx in the image: addr2line -f -e build/hv.elf %#llx\n",
			 (unsigned long long)(f->rip - (uint64_t)(uintptr_t)hv_image_start),
			 (unsigned long long)(f->rip - (uint64_t)(uintptr_t)hv_image_start));
	hv_print("[hv]   RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n", (unsigned long long)f->rax,
		 (unsigned long long)f->rbx, (unsigned long long)f->rcx, (unsigned long long)f->rdx);
	hv_print("[hv]   RSI=%016llx RDI=%016llx RBP=%016llx R8 =%016llx\n", (unsigned long long)f->rsi,
		 (unsigned long long)f->rdi, (unsigned long long)f->rbp, (unsigned long long)f->r8);
	hv_print("[hv]   R9 =%016llx R10=%016llx R11=%016llx R12=%016llx\n", (unsigned long long)f->r9,
		 (unsigned long long)f->r10, (unsigned long long)f->r11, (unsigned long long)f->r12);
	hv_print("[hv]   R13=%016llx R14=%016llx R15=%016llx\n", (unsigned long long)f->r13,
		 (unsigned long long)f->r14, (unsigned long long)f->r15);
	hv_print("[hv]   CR0=%016llx CR2=%016llx CR3=%016llx CR4=%016llx\n", (unsigned long long)read_cr0(),
		 (unsigned long long)read_cr2(), (unsigned long long)read_cr3(), (unsigned long long)read_cr4());
	log_error("this is a bug in the monitor: please report the lines above");
	hv_power_off(HV_ERR_EXCEPTION);
}
