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
#include "vmm/delay.h"
#include "vmm/exits.h"
#include "vmm/guest_boot.h"
#include "vmm/guest_cpuid.h"
#include "vmm/host_apic.h"
#include "vmm/ipi.h"
#include "vmm/log.h"
#include "vmm/paging.h"
#include "vmm/pcpu.h"
#include "vmm/memory.h"
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

#define VCPU_PARK_WAIT_US 500000 /* the other vCPUs have 500 ms to park once the VM stopped */
#define VCPU_POLLS_PER_SECOND 20  /* several vCPUs: each looks at what was posted at least every 50 ms (vmm/vcpu.h) */

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
	vm->pmm = pmm;
	vm->next_vpid = 1;
	vm->group.stopper = UINT32_MAX; /* nobody stopped it yet (vcpu_group_stop) */
	return vm;
}

/*
 * The VM's next vCPU, pinned to the physical CPU with `host_apic_id`: its APIC ID, its VPID and
 * pointers to what it shares with the VM.  vCPU 0 is the bootstrap processor; the others wait for
 * INIT and STARTUP from it, as application processors do.
 */
static struct vcpu *vm_add_vcpu(struct vm *vm, uint32_t host_apic_id)
{
	if (vm->nr_vcpus == VM_MAX_VCPUS)
		return NULL;
	const unsigned id = vm->nr_vcpus++;
	struct vcpu *v = &vm->vcpus[id];
	v->id = id;
	v->group = &vm->group;
	vm->group.vcpu[vm->group.count++] = v;
	v->host_apic_id = host_apic_id;
	v->run_state = id == 0 ? VCPU_RUNNING : VCPU_WAIT_FOR_SIPI;
	v->sipi_posted = VCPU_NO_SIPI;
	v->vm = vm;
	v->cfg = vm->cfg;
	v->caps = vm->caps;
	v->mem_mode = vm->mem_mode;
	v->mmu = vm->mem_mode == HV_MEM_SHADOW ? &shadow_mmu : &ept_mmu;
	v->mem = &vm->memory;
	v->shadow = &vm->memory.shadow;
	v->uart = &vm->uart;
	v->io_ledger = &vm->io_ledger;
	v->trace_left = vm->cfg->trace == HV_TRACE_EXITS ? vm->cfg->trace_max : 0;
	v->vpid = vm->next_vpid++;
	vlapic_reset(&v->lapic, id, id == 0); /* vCPU 0 is the bootstrap processor */
	guest_cpuid_cache_host(v); /* read here, on the BSP: the other cores, of the same model, answer these leaves alike */
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

/*
 * After INIT (an AP from the start): wait with interrupts on, woken by kicks, until a STARTUP IPI
 * arrives, then start in real mode at its vector (SDM Vol. 3A 9.4.4.1).  An INIT while waiting
 * changes nothing; the VM's stop ends the wait.
 */
static int wait_for_sipi(struct vcpu *v)
{
	uint32_t vector;
	__atomic_store_n(&v->run_state, VCPU_WAIT_FOR_SIPI, __ATOMIC_RELEASE);
	for (;;) {
		__asm__ volatile("cli");
		__atomic_store_n(&v->attention, false, __ATOMIC_SEQ_CST);
		if (vcpu_group_stopping(v))
			return EXIT_VM_STOPPED;
		(void)__atomic_exchange_n(&v->init_posted, false, __ATOMIC_ACQ_REL);
		vector = __atomic_exchange_n(&v->sipi_posted, VCPU_NO_SIPI, __ATOMIC_ACQ_REL);
		if (vector != VCPU_NO_SIPI)
			break;
		/* STI's one-instruction shadow: a kick between the test and HLT still wakes HLT (SDM Vol. 2B STI). */
		if (!__atomic_load_n(&v->attention, __ATOMIC_ACQUIRE))
			__asm__ volatile("sti; hlt; cli" ::: "memory");
	}
	(void)vlapic_take_posted(vcpu_lapic(v)); /* its APIC is software-disabled after INIT: fixed ones drop */
	struct vcpu_start start = v->vm->ap_start;
	start.mode = START_REAL_MODE_SIPI;
	start.sipi_vector = vector;
	int status;
	if (this_pcpu()->vcpu == v) {
		status = backend_vcpu_reset(v, &start);
	} else {
		status = backend_vcpu_create(v, v->vm->pmm, &start);
		/* The VM's EPT is new to this CPU: drop whatever it may cache under that root (SDM 29.4.3.4). */
		if (status == HV_OK && v->mem_mode == HV_MEM_EPT)
			backend_flush_second_level(v->caps, start.eptp);
	}
	if (status != HV_OK)
		return status;
	log_info("vCPU %u: STARTUP IPI with vector %#x: starts in real mode at %04x:0000 on CPU %u (APIC ID %u)", v->id,
		 vector, vector << 8, this_pcpu()->index, this_pcpu()->apic_id);
	__atomic_store_n(&v->run_state, VCPU_RUNNING, __ATOMIC_RELEASE);
	return EXIT_RESUME;
}

/* INIT (SDM Vol. 3A 9.1, 11.6.1): the vCPU's APIC and pending events reset; it waits for STARTUP. */
static int take_init(struct vcpu *v)
{
	log_info("vCPU %u: INIT: it waits for a STARTUP IPI", v->id);
	vlapic_reset(&v->lapic, v->id, v->id == 0);
	memset(&v->events, 0, sizeof(v->events));
	backend_apic_mode_changed(v);
	return wait_for_sipi(v);
}

/* What other CPUs posted for v (vmm/core/ipi.c): the VM's stop, INIT and STARTUP, interrupts and NMIs. */
static int attend(struct vcpu *v)
{
	__atomic_store_n(&v->attention, false, __ATOMIC_SEQ_CST);
	if (vcpu_group_stopping(v))
		return EXIT_VM_STOPPED;
	if (__atomic_exchange_n(&v->init_posted, false, __ATOMIC_ACQ_REL))
		return take_init(v); /* a STARTUP posted with it or since is wait_for_sipi's */
	/*
	 * No INIT: the vCPU runs, so a STARTUP IPI is ignored (only wait-for-SIPI takes one, SDM Vol. 3A
	 * 11.4.7.3), such as the second of INIT-SIPI-SIPI.  Kept, it would start the vCPU at once at the
	 * next INIT, before the STARTUP that INIT is waiting for.
	 */
	(void)__atomic_exchange_n(&v->sipi_posted, VCPU_NO_SIPI, __ATOMIC_ACQ_REL);
	(void)vlapic_take_posted(vcpu_lapic(v)); /* marks the vLAPIC changed: the entry path looks again */
	return EXIT_RESUME;
}

/*
 * The path of one VM exit, from entry to entry (docs/architecture.md): what other CPUs posted is
 * taken in, time catches up in the vLAPIC, the backend delivers the queued events, enters, and
 * decodes the exit into v->exit; the dispatch table's handler returns EXIT_RESUME or the status
 * the guest stops with.  Returns that status, or EXIT_VM_STOPPED when another vCPU stopped the VM.
 */
static int run_guest(struct vcpu *v)
{
	const uint64_t start = rdtsc();
	int status;
	for (;;) {
		if (__builtin_expect(__atomic_load_n(&v->attention, __ATOMIC_ACQUIRE), 0) &&
		    (status = attend(v)) != EXIT_RESUME)
			break;
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
	v->guest_cycles = rdtsc() - start;
	return status;
}

/* Park this physical CPU for good: the VM is over. */
__attribute__((noreturn)) static void park(struct vcpu *v)
{
	__atomic_store_n(&v->run_state, VCPU_PARKED, __ATOMIC_RELEASE);
	for (;;)
		__asm__ volatile("cli; hlt");
}

void vmm_vcpu_thread(struct vcpu *v)
{
	int status = wait_for_sipi(v);
	if (status == EXIT_RESUME)
		status = run_guest(v);
	if (status != EXIT_VM_STOPPED)
		(void)vcpu_group_stop(v, status); /* it ends the VM: the bootstrap processor reports */
	park(v);
}

/* The sum of every vCPU's exits, then one line per vCPU. */
/* The I/O ports the guest reached that no device claims (vmm/io_ledger.h): one line each. */
static void print_unclaimed_ports(const struct io_ledger *l)
{
	if (!l->used) {
		log_info("unclaimed I/O ports: none");
		return;
	}
	log_info("unclaimed I/O ports: %u (reads returned all ones, writes were dropped; strict_io=1 stops at the first):",
		 l->used);
	for (unsigned i = 0; i < l->used; i++)
		hv_print("[hv]   unclaimed I/O port %#06x: %llu reads, %llu writes\n", l->entry[i].port,
			 (unsigned long long)l->entry[i].reads, (unsigned long long)l->entry[i].writes);
	if (l->overflow_reads || l->overflow_writes)
		hv_print("[hv]   unclaimed I/O ports beyond the first %u: %llu reads, %llu writes\n", IO_LEDGER_SLOTS,
			 (unsigned long long)l->overflow_reads, (unsigned long long)l->overflow_writes);
}

static void print_statistics(const struct vm *vm)
{
	struct hv_stats sum = { 0 };
	uint64_t cycles = 0;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		const struct vcpu *v = &vm->vcpus[i];
		for (unsigned r = 0; r < HV_STATS_REASONS; r++) {
			sum.count[r] += v->stats.count[r];
			sum.cycles[r] += v->stats.cycles[r];
		}
		sum.total_exits += v->stats.total_exits;
		if (v->guest_cycles > cycles)
			cycles = v->guest_cycles;
	}
	if (vm->nr_vcpus == 1)
		log_info("VM-exit statistics (%llu exits, %llu TSC cycles from launch to end):",
			 (unsigned long long)sum.total_exits, (unsigned long long)cycles);
	else
		log_info("VM-exit statistics (%llu exits on %u vCPUs, %llu TSC cycles from launch to end):",
			 (unsigned long long)sum.total_exits, vm->nr_vcpus, (unsigned long long)cycles);
	hv_print("[hv]   %-22s %10s %14s %12s\n", "exit reason", "count", "monitor cycles", "cycles/exit");
	for (unsigned r = 0; r < HV_STATS_REASONS; r++) {
		if (!sum.count[r])
			continue;
		hv_print("[hv]   %-22s %10llu %14llu %12llu\n", backend_exit_reason_name(r),
			 (unsigned long long)sum.count[r], (unsigned long long)sum.cycles[r],
			 (unsigned long long)(sum.cycles[r] / sum.count[r]));
	}
	print_unclaimed_ports(&vm->io_ledger);
	if (vm->nr_vcpus == 1)
		return;
	for (unsigned i = 0; i < vm->nr_vcpus; i++) {
		const struct vcpu *v = &vm->vcpus[i];
		static const char *const state[] = { "waiting for STARTUP", "running", "stopped" };
		hv_print("[hv]   vCPU %u (CPU APIC ID %u): %llu exits, %llu interrupts and %llu NMIs injected, %llu IPIs "
			 "sent (%llu kicks), %s\n", v->id, v->host_apic_id, (unsigned long long)v->stats.total_exits,
			 (unsigned long long)v->interrupts_injected, (unsigned long long)v->nmis_injected,
			 (unsigned long long)v->ipis_sent, (unsigned long long)v->kicks_sent,
			 v->run_state <= VCPU_PARKED ? state[v->run_state] : "?");
	}
}

/* The physical CPU that vCPU `id` is pinned to: the id-th CPU in VMX root, in the order they came up. */
static struct pcpu *pcpu_for_vcpu(unsigned id)
{
	for (unsigned i = 0, k = 0; i < PCPU_MAX; i++) {
		struct pcpu *c = pcpu_get(i);
		if (c && __atomic_load_n(&c->state, __ATOMIC_ACQUIRE) == PCPU_VMX_ROOT && k++ == id)
			return c;
	}
	return NULL;
}

/*
 * The TSS for virtual-8086 mode (vmm/guest_boot.h): a 32-bit TSS (SDM Vol. 3A 8.2.1, 104 bytes),
 * the interrupt-redirection bitmap (32 bytes, unused without CR4.VME), an I/O permission bitmap of
 * zeros (every port allowed: the monitor's I/O exits decide, SDM 20.5) and its closing 0xff byte.
 */
#define TSS32_SIZE            104u
#define TSS32_IOMAP_BASE_OFF  102u
#define VM86_REDIRECT_BITMAP  32u
#define IO_BITMAP_BYTES       8192u
#define IO_BITMAP_END         0xffu
#define VM86_TSS_SIZE         (TSS32_SIZE + VM86_REDIRECT_BITMAP + IO_BITMAP_BYTES + 1u)

static int write_vm86_tss(struct vm *vm)
{
	static const uint16_t iomap = TSS32_SIZE + VM86_REDIRECT_BITMAP;
	static const uint8_t end = IO_BITMAP_END;
	uint8_t zeros[TSS32_SIZE + VM86_REDIRECT_BITMAP] = { 0 };
	memcpy(zeros + TSS32_IOMAP_BASE_OFF, &iomap, sizeof(iomap));
	if (vmm_guest_phys_write(&vm->memory, GUEST_VM86_TSS_GPA, zeros, sizeof(zeros)) != 0)
		return HV_ERR_GENERIC;
	for (uint64_t off = sizeof(zeros); off < VM86_TSS_SIZE - 1; off += sizeof(zeros)) {
		uint64_t n = VM86_TSS_SIZE - 1 - off;
		uint8_t blank[sizeof(zeros)] = { 0 };
		if (vmm_guest_phys_write(&vm->memory, GUEST_VM86_TSS_GPA + off, blank, n < sizeof(blank) ? n : sizeof(blank)))
			return HV_ERR_GENERIC;
	}
	if (vmm_guest_phys_write(&vm->memory, GUEST_VM86_TSS_GPA + VM86_TSS_SIZE - 1, &end, 1) != 0)
		return HV_ERR_GENERIC;
	vm->ap_start.vm86_tss = GUEST_VM86_TSS_GPA;
	vm->ap_start.vm86_tss_limit = VM86_TSS_SIZE - 1;
	return HV_OK;
}

/* Shadow paging: every AP's vCPU gets shadow roots of its own (vmm/shadow.h, shadow_init_sibling). */
static int shadow_states_for_aps(struct vm *vm)
{
	const uint64_t pages = (sizeof(struct shadow_state) + PAGE_SIZE - 1) / PAGE_SIZE;
	for (unsigned i = 1; i < vm->nr_vcpus; i++) {
		const uint64_t pa = pmm_alloc(vm->pmm, pages, PAGE_SIZE);
		if (pa == PMM_NO_MEMORY) {
			log_error("no memory for vCPU %u's shadow page-table state", i);
			return HV_ERR_NO_MEMORY;
		}
		struct shadow_state *s = phys_to_virt(pa);
		shadow_init_sibling(s, &vm->memory.shadow);
		vm->vcpus[i].shadow = s;
	}
	return HV_OK;
}

/* How many vCPUs: vcpus=, or one per CPU in VMX root. */
static int choose_vcpus(const struct hv_config *cfg, unsigned in_root, unsigned *nr)
{
	*nr = cfg->vcpus ? cfg->vcpus : in_root;
	if (*nr > in_root) {
		log_error("vcpus=%u, but %u physical CPU%s in VMX root: the monitor pins each vCPU to a CPU of its own; "
			  "use vcpus=%u or fewer (or leave it out: one vCPU per CPU)", *nr, in_root,
			  in_root == 1 ? " is" : "s are", in_root);
		return HV_ERR_CMDLINE;
	}
	if (*nr > VM_MAX_VCPUS) {
		log_info("vCPUs: %u, the monitor's limit VM_MAX_VCPUS, of the %u CPUs in VMX root", VM_MAX_VCPUS, in_root);
		*nr = VM_MAX_VCPUS;
	}
	return HV_OK;
}

int vmm_run(const struct bootinfo *bi, const struct acpi_cpus *cpus, const struct hv_config *cfg,
	    const struct vmx_caps *caps, struct pmm *pmm)
{
	struct vcpu_start start = { 0 };
	int status;
	unsigned nr;

	if (!exit_handlers_complete())
		return HV_ERR_GENERIC;
	struct vm *vm = vm_create(pmm, cfg, caps);
	if (!vm) {
		log_error("no memory for the VM's state (%llu bytes)", (unsigned long long)sizeof(struct vm));
		return HV_ERR_NO_MEMORY;
	}
	if ((status = choose_memory_mode(cfg, caps, &vm->mem_mode)) != HV_OK)
		return status;
	host_apic_report();
	if ((status = backend_cpu_enable(caps, pmm)) != HV_OK)
		return status;
	const unsigned in_root = smp_start(bi, cpus, cfg, caps, pmm);
	if ((status = choose_vcpus(cfg, in_root, &nr)) != HV_OK)
		return status;
	for (unsigned i = 0; i < nr; i++) {
		struct vcpu *n = vm_add_vcpu(vm, pcpu_for_vcpu(i)->apic_id);
		n->poll_cycles = nr > 1 ? delay_tsc_hz() / VCPU_POLLS_PER_SECOND : 0;
		backend_vcpu_configure(n);
	}
	struct vcpu *v = &vm->vcpus[0];
	if ((status = vmm_memory_setup(&vm->memory, pmm, cfg, caps, vm->mem_mode)) != HV_OK)
		return status;
	if (vm->mem_mode == HV_MEM_SHADOW && (status = shadow_states_for_aps(vm)) != HV_OK)
		return status;
	if ((status = guest_boot_prepare(v, bi, &start, vm->nr_vcpus)) != HV_OK)
		return status;
	start.eptp = vm->memory.eptp;
	start.cr3 = vm->memory.initial_cr3;
	vm->ap_start = start;
	if (vm->mem_mode == HV_MEM_SHADOW && nr > 1 && (status = write_vm86_tss(vm)) != HV_OK)
		return status;
	if ((status = backend_vcpu_create(v, pmm, &start)) != HV_OK)
		return status;
	/* Every other vCPU to its physical CPU, which waits in smp.c: it creates its VMCS at the vCPU's STARTUP. */
	for (unsigned i = 1; i < nr; i++) {
		struct pcpu *c = pcpu_for_vcpu(i);
		__atomic_store_n(&c->assigned, &vm->vcpus[i], __ATOMIC_RELEASE);
		vcpu_kick(v, &vm->vcpus[i]);
	}
	if (nr > 1)
		log_info("vCPUs: %u, vCPU n pinned to the n-th CPU in VMX root; vCPUs 1..%u wait for INIT and STARTUP "
			 "from vCPU 0", nr, nr - 1);
	log_info("VMLAUNCH: guest entry %#llx in 32-bit protected mode with paging off, EAX=%#llx EBX=%#llx, VPID %u",
		 (unsigned long long)start.rip, (unsigned long long)start.rax, (unsigned long long)start.rbx, v->vpid);
	status = run_guest(v);
	status = status == EXIT_VM_STOPPED ? vm->group.stop_status : vcpu_group_stop(v, status);
	__atomic_store_n(&v->run_state, VCPU_PARKED, __ATOMIC_RELEASE);
	/* The others park at their next exit (the stop kicked them): then their statistics hold still. */
	const uint64_t give_up = delay_deadline(rdtsc(), VCPU_PARK_WAIT_US);
	for (unsigned i = 1; i < nr; i++)
		while (__atomic_load_n(&vm->vcpus[i].run_state, __ATOMIC_ACQUIRE) != VCPU_PARKED && rdtsc() < give_up)
			__asm__ volatile("pause");
	spin_lock(&vm->uart.lock);
	vuart_flush(&vm->uart);
	spin_unlock(&vm->uart.lock);
	print_statistics(vm);
	if (v->mmu->report)
		v->mmu->report(v);
	backend_cpu_disable();
	return status;
}
