/*
 * INIT-SIPI-SIPI and the trampoline's copy (see vmm/include/vmm/ap_start.h; SDM Vol. 3A 9.4.4.1
 * "Typical BSP Initialization Sequence", 11.6.1 "Interrupt Command Register").
 */
#include <string.h>
#include <arch/apic.h>
#include <arch/cpuid.h>
#include <arch/cr.h>
#include <arch/msr.h>
#include "vmm/ap_start.h"
#include "vmm/delay.h"
#include "vmm/format.h"
#include "vmm/host_apic.h"
#include "vmm/phys.h"

#define FOUR_GIB             (4ull << 30)
#define TR_SEL_CODE64        0x08  /* the trampoline's GDT (vmm/platform/ap_trampoline.asm) */
#define TR_SEL_CODE32        0x18
#define INIT_DEASSERT_WAIT_US 10000 /* SDM 9.4.4.1: "10-millisecond delay" after INIT */
#define SIPI_WAIT_US          200   /* SDM 9.4.4.1: "200-microsecond delay" after each STARTUP */
#define CPUID_1_EBX_APIC_ID_SHIFT 24

extern const uint8_t ap_trampoline_start[];      /* vmm/platform/ap_trampoline.asm */
extern const struct ap_trampoline_layout ap_trampoline_layout;
extern uint64_t boot_pml4[];                      /* vmm/platform/entry.asm: identity map of [0, 4 GiB) */

static struct ap_trampoline_params *params_at(uint64_t page)
{
	return (struct ap_trampoline_params *)phys_to_virt(page + ap_trampoline_layout.params);
}

int ap_trampoline_install(uint64_t page, void (*entry)(uint64_t), char *why, unsigned why_len)
{
	const struct ap_trampoline_layout *l = &ap_trampoline_layout;
	const uint64_t boot_cr3 = virt_to_phys(boot_pml4);

	if (boot_cr3 >= FOUR_GIB) {
		hv_snprintf(why, why_len, "the boot page tables lie at %#llx, above 4 GiB, where 32-bit code "
			    "cannot load them into CR3", (unsigned long long)boot_cr3);
		return -1;
	}
	memcpy(phys_to_virt(page), ap_trampoline_start, l->size);
	struct ap_trampoline_params *p = params_at(page);
	p->gdt_limit = (uint16_t)l->gdt_limit;
	p->gdt_base = (uint32_t)(page + l->gdt);
	p->pm_entry = (uint32_t)(page + l->pm_code);
	p->pm_selector = TR_SEL_CODE32;
	p->lm_entry = (uint32_t)(page + l->lm_code);
	p->lm_selector = TR_SEL_CODE64;
	p->boot_cr3 = (uint32_t)boot_cr3;
	p->efer = (uint32_t)(EFER_LME | (rdmsr(MSR_IA32_EFER) & EFER_NXE));
	p->cr3 = read_cr3();
	p->entry = (uint64_t)(uintptr_t)entry;
	return 0;
}

void ap_trampoline_arm(uint64_t page, uint64_t stack_top, uint64_t arg)
{
	struct ap_trampoline_params *p = params_at(page);
	p->stack_top = stack_top;
	p->arg = arg;
	__atomic_store_n(&p->progress, AP_PROGRESS_NONE, __ATOMIC_SEQ_CST);
}

uint32_t ap_trampoline_progress(uint64_t page)
{
	return __atomic_load_n(&params_at(page)->progress, __ATOMIC_ACQUIRE);
}

static const uint32_t ICR_INIT = (APIC_ICR_DELIVERY_INIT << APIC_ICR_DELIVERY_SHIFT) | APIC_ICR_LEVEL_ASSERT;
static const uint32_t ICR_STARTUP = (APIC_ICR_DELIVERY_STARTUP << APIC_ICR_DELIVERY_SHIFT) | APIC_ICR_LEVEL_ASSERT;

int ap_send_init_sipi(uint32_t apic_id, uint64_t page, char *why, unsigned why_len)
{
	const uint32_t vector = (uint32_t)(page >> APIC_SIPI_PAGE_SHIFT);
	if (host_apic_send(apic_id, ICR_INIT) != 0) {
		hv_snprintf(why, why_len, "the local APIC kept the INIT IPI pending for 100 ms (ICR delivery status)");
		return -1;
	}
	delay_us(INIT_DEASSERT_WAIT_US);
	for (int i = 0; i < 2; i++) {
		if (host_apic_send(apic_id, ICR_STARTUP | vector) != 0) {
			hv_snprintf(why, why_len, "the local APIC kept STARTUP IPI %d pending for 100 ms (ICR delivery status)",
				    i + 1);
			return -1;
		}
		delay_us(SIPI_WAIT_US);
	}
	return 0;
}

void ap_send_init(uint32_t apic_id)
{
	(void)host_apic_send(apic_id, ICR_INIT);
}

uint32_t ap_this_apic_id(void)
{
	if (rdmsr(MSR_IA32_APIC_BASE) & APIC_BASE_EXTD)
		return (uint32_t)rdmsr(X2APIC_MSR(APIC_REG_ID));
	return cpuid(CPUID_LEAF_FEATURES, 0).ebx >> CPUID_1_EBX_APIC_ID_SHIFT;
}
