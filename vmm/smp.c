/*
 * Every physical CPU in VMX root (see vmm/include/vmm/smp.h).  One application processor starts
 * at a time: the trampoline's parameters (stack, pcpu) serve one start, and a processor that does
 * not answer is sent INIT again, which parks it harmlessly in wait-for-SIPI, before the next one.
 */
#include <string.h>
#include <arch/apic.h>
#include <arch/msr.h>
#include <arch/paging.h>
#include "vmm/ap_start.h"
#include "vmm/backend.h"
#include "vmm/boot.h"
#include "vmm/cpu_report.h"
#include "vmm/delay.h"
#include "vmm/format.h"
#include "vmm/host_apic.h"
#include "vmm/log.h"
#include "vmm/pcpu.h"
#include "vmm/phys.h"
#include "vmm/smp.h"
#include "vmm/status.h"
#include "vmm/vmm.h"

#define AP_STACK_PAGES   4         /* 16 KiB: the monitor's deepest path is its exception report */
#define AP_CALLIN_US     200000    /* an AP has 200 ms to reach the monitor's code after STARTUP ... */
#define AP_VMX_US        2000000   /* ... and 2 s more for its checks and VMXON (emulators are slow) */
#define ID_LIST_MAX      160

_Static_assert(PCPU_MAX <= 64, "cpus= (vmm/cmdline.h) allows at most 64");

/* What an AP needs from the bootstrap processor, written before the first STARTUP and read-only after. */
static struct {
	const struct vmx_caps *caps; /* the bootstrap processor's: every core must match them */
	struct pmm *pmm;
	unsigned break_index;        /* break=ap_vmx: this CPU number fails its capability check */
} ap_boot;

__attribute__((noreturn)) static void ap_entry(uint64_t arg)
{
	struct pcpu *c = phys_to_virt(arg);
	pcpu_init(c->index, c);
	__atomic_store_n(&c->state, PCPU_ONLINE, __ATOMIC_RELEASE);
	int status = cpu_check_vmx_ap(ap_boot.caps, c->index == ap_boot.break_index);
	if (status == HV_OK)
		status = backend_cpu_enable(ap_boot.caps, ap_boot.pmm);
	c->status = status;
	if (status == HV_OK)
		host_apic_enable(); /* so that the bootstrap processor's kick reaches it */
	__atomic_store_n(&c->state, status == HV_OK ? PCPU_VMX_ROOT : PCPU_FAILED, __ATOMIC_RELEASE);
	if (status != HV_OK)
		for (;;)
			__asm__ volatile("cli; hlt");
	/*
	 * Wait for a vCPU, woken by the kick that hands it over (HOST_KICK_VECTOR; STI's shadow makes
	 * the test and HLT one step for interrupts).  INIT is blocked in VMX root (SDM 26.2); an NMI goes
	 * to the monitor's handler, which reports it and stops the machine.
	 */
	for (;;) {
		__asm__ volatile("cli");
		struct vcpu *v = __atomic_load_n(&c->assigned, __ATOMIC_ACQUIRE);
		if (v)
			vmm_vcpu_thread(v);
		__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
}

/* Wait until c->state leaves `from`, at most `us` microseconds; returns the state. */
static uint32_t wait_state(struct pcpu *c, uint32_t from, uint64_t us)
{
	const uint64_t give_up = delay_deadline(rdtsc(), us);
	uint32_t s;
	while ((s = __atomic_load_n(&c->state, __ATOMIC_ACQUIRE)) == from && rdtsc() < give_up)
		__asm__ volatile("pause");
	return s;
}

static const char *progress_text(uint32_t progress)
{
	switch (progress) {
	case AP_PROGRESS_NONE: return "it never ran the trampoline (no STARTUP IPI arrived, or the processor is absent)";
	case AP_PROGRESS_REAL_MODE: return "it entered the trampoline in real mode but never reached 64-bit mode";
	case AP_PROGRESS_LONG_MODE: return "it reached 64-bit mode but never the monitor's code";
	default: return "its trampoline progress word is corrupt";
	}
}

/* A pcpu and a stack for CPU number `index`, from the frame allocator. */
static struct pcpu *ap_alloc(struct pmm *pmm, unsigned index, uint32_t apic_id, uint64_t *stack_top)
{
	const uint64_t pcpu_pages = (sizeof(struct pcpu) + PAGE_SIZE - 1) / PAGE_SIZE;
	const uint64_t pa = pmm_alloc(pmm, pcpu_pages, PAGE_SIZE);
	const uint64_t stack = pmm_alloc(pmm, AP_STACK_PAGES, PAGE_SIZE);
	if (pa == PMM_NO_MEMORY || stack == PMM_NO_MEMORY)
		return NULL;
	struct pcpu *c = phys_to_virt(pa);
	memset(c, 0, pcpu_pages * PAGE_SIZE);
	c->index = index;
	c->apic_id = apic_id;
	c->state = PCPU_OFFLINE;
	*stack_top = stack + AP_STACK_PAGES * PAGE_SIZE;
	return c;
}

/* Start one AP as CPU number `index`; true once it is in VMX root. */
static bool start_one(uint64_t page, unsigned index, uint32_t apic_id, struct pmm *pmm, bool silent)
{
	char why[160];
	uint64_t stack_top;
	struct pcpu *c = ap_alloc(pmm, index, apic_id, &stack_top);
	if (!c) {
		log_error("CPU %u (APIC ID %u): no memory for its state and stack: left out", index, apic_id);
		return false;
	}
	ap_trampoline_arm(page, stack_top, virt_to_phys(c));
	if (silent) {
		/* break=ap_silent (test only): INIT without STARTUP, as a processor that never answers. */
		ap_send_init(apic_id);
	} else if (ap_send_init_sipi(apic_id, page, why, sizeof(why)) != 0) {
		log_error("CPU %u (APIC ID %u): %s: left out", index, apic_id, why);
		return false;
	}
	uint32_t s = wait_state(c, PCPU_OFFLINE, AP_CALLIN_US);
	if (s == PCPU_OFFLINE) {
		log_error("CPU %u (APIC ID %u) did not answer INIT-SIPI-SIPI within %u ms: %s; it is sent INIT again "
			  "(it waits for a STARTUP IPI, harmless) and left out", index, apic_id, AP_CALLIN_US / 1000,
			  progress_text(ap_trampoline_progress(page)));
		ap_send_init(apic_id);
		return false;
	}
	s = wait_state(c, PCPU_ONLINE, AP_VMX_US);
	if (s == PCPU_ONLINE) {
		log_error("CPU %u (APIC ID %u) started but did not finish its VT-x checks and VMXON within %u ms: "
			  "it is sent INIT and left out", index, apic_id, AP_VMX_US / 1000);
		ap_send_init(apic_id);
		return false;
	}
	if (s != PCPU_VMX_ROOT) {
		/* The AP said why on its own line. */
		log_info("CPU %u (APIC ID %u): left out (status %d: %s)", index, apic_id, c->status,
			 hv_status_text(c->status));
		return false;
	}
	log_info("CPU %u (APIC ID %u): in VMX root operation (VMXON region at %#llx)", index, apic_id,
		 (unsigned long long)c->vmxon_region);
	return true;
}

unsigned smp_start(const struct bootinfo *bi, const struct acpi_cpus *cpus, const struct hv_config *cfg,
		   const struct vmx_caps *caps, struct pmm *pmm)
{
	const uint32_t bsp_id = ap_this_apic_id();
	unsigned limit = cfg->cpus ? cfg->cpus : PCPU_MAX, in_root = 1, next_index = 1, last = 0;
	char ids[ID_LIST_MAX], why[160];
	int n = hv_snprintf(ids, sizeof(ids), "%u", bsp_id);

	this_pcpu()->apic_id = bsp_id;
	this_pcpu()->state = PCPU_VMX_ROOT;
	host_apic_enable(); /* the application processors' vCPUs kick this one (vmm/core/ipi.c) */
	if (limit > PCPU_MAX)
		limit = PCPU_MAX;
	/* The AP that the test-only breaks pick: the last one that will be started. */
	for (unsigned i = 0, k = 1; i < cpus->count && k < limit; i++)
		if (cpus->cpu[i].apic_id != bsp_id)
			last = k++;
	ap_boot.caps = caps;
	ap_boot.pmm = pmm;
	ap_boot.break_index = cfg->brk == HV_BREAK_AP_VMX ? last : 0;

	if (cpus->count > 1 && limit > 1) {
		const struct ap_exclusion excl[] = {
			{ virt_to_phys(hv_image_start), virt_to_phys(hv_image_end) },
			{ bi->guest_image, bi->guest_image + bi->guest_size },
		};
		const uint64_t page = ap_trampoline_page(bi->mem, bi->mem_count, excl, sizeof(excl) / sizeof(excl[0]));
		if (!page) {
			log_error("CPUs: no free 4 KiB page of usable RAM below 640 KiB for the start-up trampoline in the "
				  "memory map: the other %u processors are left out", cpus->count - 1);
			return in_root;
		}
		if (ap_trampoline_install(page, ap_entry, why, sizeof(why)) != 0) {
			log_error("CPUs: %s: the other %u processors are left out", why, cpus->count - 1);
			return in_root;
		}
		delay_calibrate();
		log_info("CPUs: starting %u application processor%s through the trampoline at %#llx (STARTUP vector %#llx)",
			 (limit < cpus->count ? limit : cpus->count) - 1, (limit < cpus->count ? limit : cpus->count) == 2 ? "" : "s",
			 (unsigned long long)page, (unsigned long long)(page >> APIC_SIPI_PAGE_SHIFT));
		for (unsigned i = 0; i < cpus->count; i++) {
			const uint32_t id = cpus->cpu[i].apic_id;
			if (id == bsp_id)
				continue;
			if (next_index >= limit) {
				log_info("CPU with APIC ID %u: not used (cpus=%u%s)", id, limit,
					 limit == PCPU_MAX && !cfg->cpus ? ", the monitor's limit PCPU_MAX" : "");
				continue;
			}
			const unsigned index = next_index++;
			if (start_one(page, index, id, pmm, cfg->brk == HV_BREAK_AP_SILENT && index == last)) {
				in_root++;
				if (n > 0 && (unsigned)n < sizeof(ids) - 12)
					n += hv_snprintf(ids + n, sizeof(ids) - (unsigned)n, " %u", id);
			}
		}
	}
	log_info("CPUs in VMX root: %u of %u (APIC IDs %s)", in_root, cpus->count ? cpus->count : 1, ids);
	return in_root;
}
