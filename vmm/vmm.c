/*
 * The hypervisor proper: choose the memory mode, enter VMX root operation,
 * build guest memory and the VMCS, load the guest, run it to its end, report.
 */
#include <string.h>
#include <arch/msr.h>
#include <arch/paging.h>
#include <arch/vmx.h>
#include <arch/vmx_controls.h>
#include "vmm/backend.h"
#include "vmm/exits.h"
#include "vmm/guest_boot.h"
#include "vmm/host_apic.h"
#include "vmm/log.h"
#include "vmm/paging.h"
#include "vmm/memory_setup.h"
#include "vmm/mmu_ops.h"
#include "vmm/shadow.h"
#include "vmm/smp.h"
#include "vmm/status.h"
#include "vmm/trace.h"
#include "vmm/vcpu.h"
#include "vmm/vlapic.h"
#include "vmm/vmm.h"
#include "vmm/vuart.h"

/* A VM from the frame allocator, its configuration set; NULL when memory ran out. */
static struct vm *vm_create(struct pmm *pmm, const struct hv_config *cfg, const struct vmx_caps *caps)
{
	const uint64_t pages = (sizeof(struct vm) + PAGE_SIZE - 1) / PAGE_SIZE;
	const uint64_t pa = pmm_alloc(pmm, pages, PAGE_SIZE);
	if (pa == PMM_NO_MEMORY)
		return NULL;
	struct vm *vm = phys_to_virt(pa);
	memset(vm, 0, pages * PAGE_SIZE);
	vm->cfg = cfg;
	vm->caps = caps;
	vm->next_vpid = 1;
	return vm;
}

/* The VM's next vCPU, with its APIC ID, its VPID and pointers to what it shares with the VM. */
static struct vcpu *vm_add_vcpu(struct vm *vm)
{
	if (vm->nr_vcpus == VM_MAX_VCPUS)
		return NULL;
	const unsigned id = vm->nr_vcpus++;
	struct vcpu *v = &vm->vcpus[id];
	v->vm = vm;
	v->cfg = vm->cfg;
	v->caps = vm->caps;
	v->mem_mode = vm->mem_mode;
	v->mmu = vm->mem_mode == HV_MEM_SHADOW ? &shadow_mmu : &ept_mmu;
	v->mem = &vm->memory;
	v->shadow = &vm->memory.shadow;
	v->uart = &vm->uart;
	v->trace_left = vm->cfg->trace == HV_TRACE_EXITS ? vm->cfg->trace_max : 0;
	v->vpid = vm->next_vpid++;
	vlapic_reset(&v->lapic, id, id == 0); /* vCPU 0 is the bootstrap processor */
	return v;
}

static int choose_memory_mode(const struct hv_config *cfg, const struct vmx_caps *caps, uint32_t *mode)
{
	const bool explicit_mem = cfg->explicit_mask & (1u << HV_OPTIDX_mem);
	const bool ept_usable = caps->ept && caps->ept_4level && caps->ept_wb && caps->unrestricted_guest;

	*mode = cfg->mem;
	if (cfg->mem == HV_MEM_EPT && !ept_usable) {
		if (explicit_mem) {
			log_error("mem=ept needs EPT (4-level, write-back) with unrestricted guest, which this CPU lacks: "
				  "use mem=shadow or a CPU model with EPT");
			return HV_ERR_VMX_FEATURE;
		}
		log_warn("this CPU has no usable EPT with unrestricted guest: falling back to shadow paging (mem=shadow)");
		*mode = HV_MEM_SHADOW;
	}
	log_info("memory virtualization: %s", *mode == HV_MEM_EPT ? "EPT (nested paging)" : "shadow page tables");
	return HV_OK;
}

static void print_statistics(const struct vcpu *v, uint64_t guest_cycles)
{
	log_info("VM-exit statistics (%llu exits, %llu TSC cycles from launch to end):",
		 (unsigned long long)v->stats.total_exits, (unsigned long long)guest_cycles);
	hv_print("[hv]   %-22s %10s %14s %12s\n", "exit reason", "count", "monitor cycles", "cycles/exit");
	for (unsigned r = 0; r < HV_STATS_REASONS; r++) {
		if (!v->stats.count[r])
			continue;
		hv_print("[hv]   %-22s %10llu %14llu %12llu\n", backend_exit_reason_name(r),
			 (unsigned long long)v->stats.count[r], (unsigned long long)v->stats.cycles[r],
			 (unsigned long long)(v->stats.cycles[r] / v->stats.count[r]));
	}
}

/*
 * The path of one VM exit, from entry to entry (docs/architecture.md): time catches up in the
 * vLAPIC, the backend delivers the queued events, enters, and decodes the exit into v->exit; the
 * dispatch table's handler returns EXIT_RESUME or the status the guest stops with.
 */
static int run_guest(struct vcpu *v)
{
	const uint64_t start = rdtsc();
	int status;
	for (;;) {
		const uint64_t now = rdtsc();
		if (now >= vlapic_next_deadline(&v->lapic))
			vlapic_advance(vcpu_lapic(v), now);
		status = backend_vcpu_run(v, now);
		if (status != EXIT_RESUME)
			break;
		const struct vm_exit *e = &v->exit;
		if (e->reason < HV_STATS_REASONS) {
			v->stats.count[e->reason]++;
			v->stats.total_exits++;
		}
		if (__builtin_expect(v->trace_left != 0, 0)) {
			struct exit_trace_before before;
			exit_trace_before(v, &before);
			status = exit_dispatch(v, e);
			exit_trace(v, e, &before, status);
		} else {
			status = exit_dispatch(v, e);
		}
		const uint64_t handled = rdtsc();
		if (e->reason < HV_STATS_REASONS)
			v->stats.cycles[e->reason] += handled - v->exit_tsc;
		watchdog_note_progress(v, handled);
		if (status != EXIT_RESUME)
			break;
		if (__builtin_expect(v->events.requests & VCPU_REQ_TRIPLE_FAULT, 0)) {
			status = exit_report_and_stop(v, HV_ERR_TRIPLE_FAULT,
						      "guest triple fault: an exception occurred while delivering a double fault "
						      "(the guest's IDT, GDT or stack is broken)");
			break;
		}
	}
	vuart_flush(v->uart);
	print_statistics(v, rdtsc() - start);
	if (v->mmu->report)
		v->mmu->report(v);
	return status;
}

int vmm_run(const struct bootinfo *bi, const struct acpi_cpus *cpus, const struct hv_config *cfg,
	    const struct vmx_caps *caps, struct pmm *pmm)
{
	struct vcpu_start start = { 0 };
	int status;

	if (!exit_handlers_complete())
		return HV_ERR_GENERIC;
	struct vm *vm = vm_create(pmm, cfg, caps);
	if (!vm) {
		log_error("no memory for the VM's state (%llu bytes)", (unsigned long long)sizeof(struct vm));
		return HV_ERR_NO_MEMORY;
	}
	if ((status = choose_memory_mode(cfg, caps, &vm->mem_mode)) != HV_OK)
		return status;
	struct vcpu *v = vm_add_vcpu(vm);
	backend_vcpu_configure(v);
	host_apic_report();
	if ((status = backend_cpu_enable(caps, pmm)) != HV_OK)
		return status;
	smp_start(bi, cpus, cfg, caps, pmm);
	if ((status = vmm_memory_setup(&vm->memory, pmm, cfg, caps, vm->mem_mode)) != HV_OK)
		return status;
	if ((status = guest_boot_prepare(v, bi, &start, vm->nr_vcpus)) != HV_OK)
		return status;
	start.eptp = vm->memory.eptp;
	start.cr3 = vm->memory.initial_cr3;
	if ((status = backend_vcpu_create(v, pmm, &start)) != HV_OK)
		return status;
	log_info("VMLAUNCH: guest entry %#llx in 32-bit protected mode with paging off, EAX=%#llx EBX=%#llx, VPID %u",
		 (unsigned long long)start.rip, (unsigned long long)start.rax, (unsigned long long)start.rbx, v->vpid);
	status = run_guest(v);
	backend_cpu_disable();
	return status;
}
