#include <string.h>
#include <arch/cpuid.h>
#include <arch/cr.h>
#include <arch/msr.h>
#include <arch/paging.h>
#include <arch/segment.h>
#include <arch/vmx.h>
#include <arch/vmx_controls.h>
#include <arch/vmx_state.h>
#include "vmm/cpu.h"
#include "vmm/guest_cr.h"
#include "vmm/backend.h"
#include "vmm/log.h"
#include "vmm/vlapic.h"
#include "vmm/pcpu.h"
#include "vmm/paging.h"
#include "vmm/status.h"
#include "vmcs.h"
#include "tlb.h"
#include "vmcs_setup.h"
#include "apicv.h"
#include "vmx.h"

extern char vmx_exit_entry[]; /* vmm/vmx/vmx_entry.asm */

#define IO_BITMAP_PAGES 2   /* A: ports 0000-7fff, B: 8000-ffff (SDM 25.6.4) */
#define EXIT_STORM_TICKS      20000ull   /* break=exit_storm: a timer exit every 20000 ticks */
#define HLT_WAKE_TICKS        1000000ull /* break=no_hlt_exiting: wakes a guest halted with interrupts off */
#define MCYCLES               1000000ull
#define TSS_LIMIT_32BIT       0x67u
#define FLAT_LIMIT            0xffffffffu
#define GUEST_CS_SELECTOR_INIT 0x08
#define REAL_MODE_LIMIT       0xffffu /* 64 KiB real-mode segments (SDM Vol. 3A Table 10-1) */
#define REAL_MODE_SIPI_CS_SHIFT 8     /* CS selector = vector << 8 (SDM 9.4.4.1) */
#define REAL_MODE_SEGMENT_SHIFT 4     /* base = selector * 16 */
#define VM86_SEGMENT_AR       (SEG_TYPE_DATA_RW_ACCESSED | VMX_AR_S | (3u << VMX_AR_DPL_SHIFT) | VMX_AR_P) /* 0xf3 */
#define VM86_EXCEPTION_BITMAP 0xffffffffu
#define GUEST_DS_SELECTOR_INIT 0x10

/*
 * MSRs the guest reads and writes without a VM exit, and why that is safe:
 * the VMCS saves and loads FS/GS bases on every transition (SDM 28.3.2, 27.3.2.2),
 * and the monitor never uses SWAPGS, so IA32_KERNEL_GS_BASE is the guest's alone.
 */
static const uint32_t msr_passthrough[] = {
	MSR_IA32_FS_BASE,
	MSR_IA32_GS_BASE,
	MSR_IA32_KERNEL_GS_BASE,
};

static void msr_bitmap_pass(uint8_t *bitmap, uint32_t msr)
{
	unsigned read_off, write_off;
	if (msr < MSR_RANGE_SIZE) {
		read_off = MSR_BITMAP_READ_LOW, write_off = MSR_BITMAP_WRITE_LOW;
	} else {
		msr -= MSR_HIGH_RANGE_BASE;
		read_off = MSR_BITMAP_READ_HIGH, write_off = MSR_BITMAP_WRITE_HIGH;
	}
	bitmap[read_off + msr / 8] &= (uint8_t)~(1u << (msr % 8));
	bitmap[write_off + msr / 8] &= (uint8_t)~(1u << (msr % 8));
}

static uint64_t alloc_filled_pages(struct pmm *pmm, unsigned pages, int fill)
{
	uint64_t phys = pmm_alloc(pmm, pages, PAGE_SIZE);
	if (phys != PMM_NO_MEMORY)
		memset(phys_to_virt(phys), fill, pages * PAGE_SIZE);
	return phys;
}

/* Compute one control word; on a disallowed required bit, name it and fail. */
static int adjust(const struct vcpu *v, enum vmx_control_word w, uint32_t required, uint32_t optional,
		  uint32_t *out)
{
	uint32_t missing;
	if (vmx_adjust_controls(v->caps, w, required, optional, out, &missing) == 0) {
		uint32_t dropped = optional & ~*out;
		for (unsigned bit = 0; bit < 32; bit++)
			if (dropped & (1u << bit))
				log_info("%s control '%s' not offered by this CPU: going without it",
					 vmx_control_word_name(w), vmx_control_bit_name(w, bit));
		return 0;
	}
	static const char *const msr_suffix[VMX_CTL_COUNT] = {
		[VMX_CTL_PIN] = "PINBASED_CTLS", [VMX_CTL_PROC] = "PROCBASED_CTLS", [VMX_CTL_PROC2] = "PROCBASED_CTLS2",
		[VMX_CTL_EXIT] = "EXIT_CTLS", [VMX_CTL_ENTRY] = "ENTRY_CTLS",
	};
	const bool true_msr = v->caps->true_ctls && w != VMX_CTL_PROC2;
	for (unsigned bit = 0; bit < 32; bit++)
		if (missing & (1u << bit)) {
			const char *name = vmx_control_bit_name(w, bit);
			log_error("the CPU does not allow the %s control '%s' (bit %u), which the monitor requires "
				  "(IA32_VMX_%s%s allows %#x): use a CPU (or Bochs model) with this feature",
				  vmx_control_word_name(w), name ? name : "?", bit, true_msr ? "TRUE_" : "", msr_suffix[w],
				  v->caps->may_be_1[w]);
		}
	return -1;
}

static int setup_controls(struct vcpu *v, struct pmm *pmm, uint64_t eptp)
{
	const bool ept = v->mem_mode == HV_MEM_EPT;
	uint32_t pin, proc, proc2, exit, entry;
	uint32_t pin_req = PIN_EXTERNAL_INTERRUPT_EXITING | PIN_NMI_EXITING;
	/* The preemption timer drives the watchdog and the vLAPIC timer (vmx_backend.h preemption_timer_arm). */
	uint32_t pin_opt = PIN_ACTIVATE_PREEMPTION_TIMER | PIN_VIRTUAL_NMIS; /* virtual NMIs: NMI-window exits */
	/*
	 * CR8 is the TPR of the guest's local APIC (SDM 11.8.6.1): without CR8-load and -store exiting
	 * (SDM 25.6.2) a MOV CR8 in 64-bit mode would reach the physical APIC's TPR.  exit/cr.c serves
	 * it from the vLAPIC; with a TPR shadow (apicv.c) the CPU serves it from the virtual-APIC page.
	 */
	uint32_t proc_req = CPU_HLT_EXITING | CPU_USE_IO_BITMAPS | CPU_USE_MSR_BITMAPS | CPU_RDPMC_EXITING |
			    CPU_MWAIT_EXITING | CPU_MONITOR_EXITING | CPU_ACTIVATE_SECONDARY_CONTROLS |
			    CPU_CR8_LOAD_EXITING | CPU_CR8_STORE_EXITING;
	/* TSC offsetting: the guest's IA32_TSC writes move its TSC alone (SDM Vol. 3C 25.6.5, 26.3; exit/msr.c). */
	uint32_t proc_opt = CPU_USE_TSC_OFFSETTING;
	uint32_t proc2_req = 0;
	/* Older CPUs (Core 2) lack descriptor-table exiting: the guest then loads its tables unseen. */
	/*
	 * Not enabled, so they stay #UD for the guest (and are hidden in CPUID):
	 * XSAVES/XRSTORS (IA32_XSS is not virtualized) and INVPCID (it would exit
	 * with INVLPG exiting in shadow mode; in EPT mode PCIDs work without it).
	 */
	uint32_t proc2_opt = CPU2_DESCRIPTOR_TABLE_EXITING | CPU2_WBINVD_EXITING | CPU2_ENABLE_RDTSCP;
	/* Debug controls: a VM exit resets DR7 and IA32_DEBUGCTL (SDM 28.5.1); save and reload the guest's. */
	uint32_t exit_req = EXIT_HOST_ADDRESS_SPACE_SIZE | EXIT_ACKNOWLEDGE_INTERRUPT_ON_EXIT | EXIT_SAVE_DEBUG_CONTROLS;
	uint32_t entry_req = ENTRY_LOAD_DEBUG_CONTROLS;
	/*
	 * Switching EFER and PAT on entry/exit is optional (Core 2 lacks it): without it
	 * the guest's EFER.SCE/NXE and PAT live in the real MSRs, which the monitor does
	 * not depend on (it never uses SYSCALL or NX, and maps everything with PAT entry 0).
	 */
	uint32_t exit_opt = EXIT_SAVE_IA32_EFER | EXIT_LOAD_IA32_EFER_EXIT | EXIT_SAVE_IA32_PAT | EXIT_LOAD_IA32_PAT_EXIT;
	uint32_t entry_opt = ENTRY_LOAD_IA32_EFER_ENTRY | ENTRY_LOAD_IA32_PAT_ENTRY;

	if (ept)
		proc2_req |= CPU2_ENABLE_EPT | CPU2_UNRESTRICTED_GUEST;
	else
		proc_req |= CPU_CR3_LOAD_EXITING | CPU_CR3_STORE_EXITING | CPU_INVLPG_EXITING;
	/* VPID only where INVVPID can flush a whole context (vmm/vmx/tlb.c), else stale translations could survive. */
	if (v->cfg->vpid && tlb_vpid_usable(v->caps))
		proc2_opt |= CPU2_ENABLE_VPID;
	if (v->cfg->brk == HV_BREAK_NO_HLT_EXITING) {
		log_warn("break=no_hlt_exiting: HLT will not exit, to show that the guest suite notices");
		proc_req &= ~CPU_HLT_EXITING;
		pin_opt |= PIN_ACTIVATE_PREEMPTION_TIMER; /* nothing else could wake the halted guest */
	}
	if (v->cfg->brk == HV_BREAK_EXIT_STORM) {
		log_warn("break=exit_storm: preemption-timer exits every %llu ticks, to show that the guest suite notices",
			 EXIT_STORM_TICKS);
		pin_opt |= PIN_ACTIVATE_PREEMPTION_TIMER;
	}
	if (v->cfg->brk == HV_BREAK_CONTROLS) {
		log_warn("break=controls: requiring 'posted interrupts' to demonstrate the control check");
		pin_req |= PIN_PROCESS_POSTED_INTERRUPTS;
	}

	/* The watchdog is a TSC deadline the preemption timer is armed for (preemption_timer_arm, exit/misc.c). */
	const bool watchdog_role = v->cfg->watchdog && v->cfg->brk != HV_BREAK_EXIT_STORM &&
				   v->cfg->brk != HV_BREAK_NO_HLT_EXITING;

	if (adjust(v, VMX_CTL_PIN, pin_req, pin_opt, &pin) || adjust(v, VMX_CTL_PROC, proc_req, proc_opt, &proc) ||
	    adjust(v, VMX_CTL_PROC2, proc2_req, proc2_opt, &proc2) ||
	    adjust(v, VMX_CTL_EXIT, exit_req, exit_opt, &exit) || adjust(v, VMX_CTL_ENTRY, entry_req, entry_opt, &entry))
		return HV_ERR_VMX_FEATURE;
	/* The guest switches to long mode later (exit/cr.c sets this control then): it must be allowed now. */
	if (!(v->caps->may_be_1[VMX_CTL_ENTRY] & ENTRY_IA32E_MODE_GUEST)) {
		log_error("this CPU does not allow the VM-entry control 'IA-32e mode guest': it cannot run a 64-bit guest");
		return HV_ERR_VMX_FEATURE;
	}
	v->efer_switched = (exit & EXIT_LOAD_IA32_EFER_EXIT) && (exit & EXIT_SAVE_IA32_EFER) &&
			   (entry & ENTRY_LOAD_IA32_EFER_ENTRY);
	v->pat_switched = (exit & EXIT_LOAD_IA32_PAT_EXIT) && (exit & EXIT_SAVE_IA32_PAT) &&
			  (entry & ENTRY_LOAD_IA32_PAT_ENTRY);
	v->rdtscp_enabled = (proc2 & CPU2_ENABLE_RDTSCP) != 0;
	v->tsc_offsetting = (proc & CPU_USE_TSC_OFFSETTING) != 0;
	if (!v->tsc_offsetting)
		log_warn("no TSC offsetting: the guest's writes to IA32_TSC and IA32_TSC_ADJUST are refused (#GP)");
	if (!v->efer_switched || !v->pat_switched)
		log_warn("no EFER/PAT switching on VM entry and exit: the guest's EFER.SCE/NXE and PAT use the real MSRs");
	if (v->cfg->watchdog && !(pin & PIN_ACTIVATE_PREEMPTION_TIMER))
		log_warn("no VMX-preemption timer: the guest watchdog is off");
	v->watchdog_deadline = VLAPIC_NO_DEADLINE; /* no watchdog: never */
	if (watchdog_role && (pin & PIN_ACTIVATE_PREEMPTION_TIMER)) {
		v->watchdog_cycles = v->cfg->watchdog * MCYCLES;
		v->watchdog_deadline = rdtsc() + v->watchdog_cycles;
	}

	vmcs_write32(PIN_BASED_VM_EXEC_CONTROL, pin);
	vmcs_write32(CPU_BASED_VM_EXEC_CONTROL, proc);
	if (v->tsc_offsetting)
		vmcs_write64(TSC_OFFSET, v->tsc_offset);
	v->proc_controls = proc;
	v->preemption_timer = (pin & PIN_ACTIVATE_PREEMPTION_TIMER) != 0;
	/* Armed before each entry (preemption_timer_arm), except by the break modes, which keep their own fixed reload. */
	v->timer_armed_at_entry = v->preemption_timer && v->cfg->brk != HV_BREAK_EXIT_STORM &&
				  v->cfg->brk != HV_BREAK_NO_HLT_EXITING;
	v->timer_rate = v->caps->preemption_timer_rate;
	v->virtual_nmis = (pin & PIN_VIRTUAL_NMIS) != 0;
	if (!v->preemption_timer)
		log_warn("no VMX-preemption timer: the guest's APIC timer is only seen at its next VM exit");
	vmcs_write32(SECONDARY_VM_EXEC_CONTROL, proc2);
	vmcs_write32(VM_EXIT_CONTROLS, exit);
	vmcs_write32(VM_ENTRY_CONTROLS, entry);
	log_debug("controls: pin %#x proc %#x proc2 %#x exit %#x entry %#x", pin, proc, proc2, exit, entry);

	/* Everything exits unless deliberately passed through. */
	uint64_t io = alloc_filled_pages(pmm, IO_BITMAP_PAGES, 0xff);
	uint64_t msr = alloc_filled_pages(pmm, 1, 0xff);
	if (io == PMM_NO_MEMORY || msr == PMM_NO_MEMORY)
		return HV_ERR_NO_MEMORY;
	for (unsigned i = 0; i < sizeof(msr_passthrough) / sizeof(msr_passthrough[0]); i++)
		msr_bitmap_pass(phys_to_virt(msr), msr_passthrough[i]);
	vmcs_write64(IO_BITMAP_A, io);
	vmcs_write64(IO_BITMAP_B, io + PAGE_SIZE);
	vmcs_write64(MSR_BITMAP, msr);
	v->msr_bitmap = phys_to_virt(msr);
	if (apicv_setup(v, pmm) != HV_OK)
		return HV_ERR_NO_MEMORY;

	/* Exceptions: in EPT mode the guest handles all of its own (shadow mode adds #PF). */
	vmcs_write32(EXCEPTION_BITMAP, vmcs_default_exception_bitmap(v));
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MASK, 0);
	vmcs_write32(PAGE_FAULT_ERROR_CODE_MATCH, 0);
	vmcs_write32(CR3_TARGET_COUNT, 0);
	vmcs_write32(VM_EXIT_MSR_STORE_COUNT, 0);
	vmcs_write32(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmcs_write32(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmcs_write32(VM_ENTRY_INTR_INFO_FIELD, 0);

	/* The monitor owns every CR0/CR4 bit: any change exits; reads see the shadows. */
	vmcs_writenat(CR0_GUEST_HOST_MASK, ~0ull);
	vmcs_writenat(CR4_GUEST_HOST_MASK, ~0ull);

	if (ept)
		vmcs_write64(EPT_POINTER, eptp);
	/* The VPID the VM gave this vCPU tags its translations (SDM 29.1); 0: VPID not used. */
	if (proc2 & CPU2_ENABLE_VPID)
		vmcs_write16(VIRTUAL_PROCESSOR_ID, v->vpid);
	else
		v->vpid = 0;
	if (pin & PIN_ACTIVATE_PREEMPTION_TIMER) {
		/* The break modes' fixed reload; otherwise preemption_timer_arm arms it before each entry. */
		v->preemption_timer_ticks = v->cfg->brk == HV_BREAK_EXIT_STORM ? EXIT_STORM_TICKS
					    : v->cfg->brk == HV_BREAK_NO_HLT_EXITING ? HLT_WAKE_TICKS : 0;
		vmcs_write32(VMX_PREEMPTION_TIMER_VALUE, v->preemption_timer_ticks);
	}
	vmcs_write64(VMCS_LINK_POINTER, VMCS_LINK_POINTER_NONE);
	return HV_OK;
}

static void setup_host_state(const struct vcpu *v)
{
	struct descriptor_table_ptr gdtr, idtr;
	sgdt(&gdtr);
	sidt(&idtr);
	vmcs_write16(HOST_CS_SELECTOR, GDT_SEL_KERNEL_CODE);
	vmcs_write16(HOST_SS_SELECTOR, GDT_SEL_KERNEL_DATA);
	vmcs_write16(HOST_DS_SELECTOR, GDT_SEL_KERNEL_DATA);
	vmcs_write16(HOST_ES_SELECTOR, GDT_SEL_KERNEL_DATA);
	vmcs_write16(HOST_FS_SELECTOR, 0);
	vmcs_write16(HOST_GS_SELECTOR, 0);
	vmcs_write16(HOST_TR_SELECTOR, GDT_SEL_TSS);
	vmcs_writenat(HOST_CR0, read_cr0());
	vmcs_writenat(HOST_CR3, read_cr3());
	vmcs_writenat(HOST_CR4, read_cr4());
	vmcs_writenat(HOST_FS_BASE, rdmsr(MSR_IA32_FS_BASE));
	vmcs_writenat(HOST_GS_BASE, rdmsr(MSR_IA32_GS_BASE));
	vmcs_writenat(HOST_TR_BASE, cpu_tss_base());
	vmcs_writenat(HOST_GDTR_BASE, gdtr.base);
	vmcs_writenat(HOST_IDTR_BASE, idtr.base);
	vmcs_write32(HOST_IA32_SYSENTER_CS, 0);
	vmcs_writenat(HOST_IA32_SYSENTER_ESP, 0);
	vmcs_writenat(HOST_IA32_SYSENTER_EIP, 0);
	/* These fields exist only on CPUs with the EFER/PAT switching controls. */
	if (v->efer_switched)
		vmcs_write64(HOST_IA32_EFER, rdmsr(MSR_IA32_EFER));
	if (v->pat_switched)
		vmcs_write64(HOST_IA32_PAT, rdmsr(MSR_IA32_PAT));
	vmcs_writenat(HOST_RIP, (uint64_t)(uintptr_t)vmx_exit_entry);
	/* HOST_RSP is written by vmx_enter_guest right before each entry. */
}

#define SEG(name, sel, ar, limit)                                 \
	do {                                                      \
		vmcs_write16(GUEST_##name##_SELECTOR, sel);       \
		vmcs_writenat(GUEST_##name##_BASE, 0);            \
		vmcs_write32(GUEST_##name##_LIMIT, limit);        \
		vmcs_write32(GUEST_##name##_AR_BYTES, ar);        \
	} while (0)

uint32_t vmcs_default_exception_bitmap(const struct vcpu *v)
{
	return v->mem_mode == HV_MEM_EPT ? 0 : 1u << VECTOR_PF; /* shadow paging fills on #PF */
}

/*
 * Real mode after INIT and STARTUP (SDM Vol. 3A Table 10-1): 64 KiB segments at base selector * 16,
 * CS = vector << 8, IP = 0, CR0 = CD | NW | ET, EDX = the processor signature, the rest zero.
 */
static void setup_sipi_state(struct vcpu *v, const struct vcpu_start *start)
{
	const uint32_t code = SEG_TYPE_CODE_XR_ACCESSED | VMX_AR_S | VMX_AR_P;
	const uint32_t data = SEG_TYPE_DATA_RW_ACCESSED | VMX_AR_S | VMX_AR_P;
	const uint16_t cs = (uint16_t)(start->sipi_vector << REAL_MODE_SIPI_CS_SHIFT);

	v->vm86 = v->mem_mode != HV_MEM_EPT; /* no unrestricted guest: virtual-8086 mode (vmm/exit/vm86.c) */
	if (v->vm86) {
		/* SDM 27.3.1.2: in virtual-8086 mode every segment is base = selector * 16, limit 0xffff, AR 0xf3. */
		SEG(CS, cs, VM86_SEGMENT_AR, REAL_MODE_LIMIT);
		SEG(SS, 0, VM86_SEGMENT_AR, REAL_MODE_LIMIT);
		SEG(DS, 0, VM86_SEGMENT_AR, REAL_MODE_LIMIT);
		SEG(ES, 0, VM86_SEGMENT_AR, REAL_MODE_LIMIT);
		SEG(FS, 0, VM86_SEGMENT_AR, REAL_MODE_LIMIT);
		SEG(GS, 0, VM86_SEGMENT_AR, REAL_MODE_LIMIT);
		SEG(LDTR, 0, VMX_AR_UNUSABLE, 0);
		SEG(TR, 0, SEG_TYPE_TSS_BUSY | VMX_AR_P, start->vm86_tss_limit); /* a 32-bit busy TSS: SDM 27.3.1.2 */
		vmcs_writenat(GUEST_TR_BASE, start->vm86_tss);
		/* Every exception exits: #GP is a privileged instruction to emulate, any other one a stop. */
		vmcs_write32(EXCEPTION_BITMAP, VM86_EXCEPTION_BITMAP);
	} else {
		SEG(CS, cs, code, REAL_MODE_LIMIT);
		SEG(SS, 0, data, REAL_MODE_LIMIT);
		SEG(DS, 0, data, REAL_MODE_LIMIT);
		SEG(ES, 0, data, REAL_MODE_LIMIT);
		SEG(FS, 0, data, REAL_MODE_LIMIT);
		SEG(GS, 0, data, REAL_MODE_LIMIT);
		SEG(LDTR, 0, SEG_TYPE_LDT | VMX_AR_P, REAL_MODE_LIMIT);
		SEG(TR, 0, SEG_TYPE_TSS_BUSY | VMX_AR_P, REAL_MODE_LIMIT); /* a busy TSS type: SDM 27.3.1.2 */
	}
	vmcs_writenat(GUEST_CS_BASE, (uint64_t)cs << REAL_MODE_SEGMENT_SHIFT);
	vmcs_writenat(GUEST_GDTR_BASE, 0);
	vmcs_write32(GUEST_GDTR_LIMIT, REAL_MODE_LIMIT);
	vmcs_writenat(GUEST_IDTR_BASE, 0);
	vmcs_write32(GUEST_IDTR_LIMIT, REAL_MODE_LIMIT);

	v->guest_cr0 = CR0_CD | CR0_NW | CR0_ET;
	v->guest_cr4 = 0;
	v->guest_efer = 0;
	v->guest_cr3 = 0;
	vmcs_writenat(CR0_READ_SHADOW, v->guest_cr0);
	vmcs_writenat(CR4_READ_SHADOW, v->guest_cr4);
	vmcs_writenat(GUEST_CR0, cr0_hardware_value(v, v->guest_cr0));
	vmcs_writenat(GUEST_CR4, cr4_hardware_value(v, v->guest_cr4));
	vmcs_writenat(GUEST_CR3, v->vm86 ? start->cr3 : 0); /* shadow paging: the identity root while paging is off */
	vmcs_writenat(GUEST_DR7, DR7_RESET_VALUE);
	vmcs_write64(GUEST_IA32_DEBUGCTL, 0);
	backend_set_long_mode(v, false);
	efer_apply(v);
	vmcs_write32(GUEST_SYSENTER_CS, 0);
	vmcs_writenat(GUEST_SYSENTER_ESP, 0);
	vmcs_writenat(GUEST_SYSENTER_EIP, 0);
	vmcs_writenat(GUEST_RSP, 0);
	vmcs_writenat(GUEST_RIP, 0);
	/* Virtual-8086 mode with IOPL 3: CLI, STI, PUSHF, POPF run natively (SDM Vol. 3A 20.2.7). */
	vmcs_writenat(GUEST_RFLAGS, RFLAGS_RESERVED1 | (v->vm86 ? RFLAGS_VM | RFLAGS_IOPL3 : 0));
	vmcs_writenat(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write32(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	v->regs = (struct guest_regs){ 0 };
	v->regs.rdx = cpuid(CPUID_LEAF_FEATURES, 0).eax; /* SDM Table 10-1: EDX = family, model, stepping */
}

/* 32-bit protected mode, paging off, flat segments: the state a Multiboot loader leaves (Multiboot2 3.3). */
static void setup_guest_state(struct vcpu *v, const struct vcpu_start *start)
{
	if (start->mode == START_REAL_MODE_SIPI) {
		setup_sipi_state(v, start);
		return;
	}
	const uint32_t code = SEG_TYPE_CODE_XR_ACCESSED | VMX_AR_S | VMX_AR_P | VMX_AR_DB | VMX_AR_G;
	const uint32_t data = SEG_TYPE_DATA_RW_ACCESSED | VMX_AR_S | VMX_AR_P | VMX_AR_DB | VMX_AR_G;
	const uint32_t tr = SEG_TYPE_TSS_BUSY | VMX_AR_P;

	SEG(CS, GUEST_CS_SELECTOR_INIT, code, FLAT_LIMIT);
	SEG(SS, GUEST_DS_SELECTOR_INIT, data, FLAT_LIMIT);
	SEG(DS, GUEST_DS_SELECTOR_INIT, data, FLAT_LIMIT);
	SEG(ES, GUEST_DS_SELECTOR_INIT, data, FLAT_LIMIT);
	SEG(FS, GUEST_DS_SELECTOR_INIT, data, FLAT_LIMIT);
	SEG(GS, GUEST_DS_SELECTOR_INIT, data, FLAT_LIMIT);
	SEG(LDTR, 0, VMX_AR_UNUSABLE, 0);
	SEG(TR, 0, tr, TSS_LIMIT_32BIT);
	vmcs_writenat(GUEST_GDTR_BASE, 0);
	vmcs_write32(GUEST_GDTR_LIMIT, 0);
	vmcs_writenat(GUEST_IDTR_BASE, 0);
	vmcs_write32(GUEST_IDTR_LIMIT, 0);

	v->guest_cr0 = CR0_PE | CR0_ET;
	v->guest_cr4 = 0;
	v->guest_efer = 0;
	v->guest_cr3 = 0;
	vmcs_writenat(CR0_READ_SHADOW, v->guest_cr0);
	vmcs_writenat(CR4_READ_SHADOW, v->guest_cr4);
	vmcs_writenat(GUEST_CR0, cr0_hardware_value(v, v->guest_cr0));
	vmcs_writenat(GUEST_CR4, cr4_hardware_value(v, v->guest_cr4));
	vmcs_writenat(GUEST_CR3, start->cr3);
	vmcs_writenat(GUEST_DR7, DR7_RESET_VALUE);
	vmcs_write64(GUEST_IA32_DEBUGCTL, 0);
	efer_apply(v);
	if (v->pat_switched)
		vmcs_write64(GUEST_IA32_PAT, PAT_POWER_ON_DEFAULT);
	vmcs_write32(GUEST_SYSENTER_CS, 0);
	vmcs_writenat(GUEST_SYSENTER_ESP, 0);
	vmcs_writenat(GUEST_SYSENTER_EIP, 0);
	vmcs_writenat(GUEST_RSP, 0);
	vmcs_writenat(GUEST_RIP, start->rip);
	vmcs_writenat(GUEST_RFLAGS, RFLAGS_RESERVED1);
	vmcs_writenat(GUEST_PENDING_DBG_EXCEPTIONS, 0);
	vmcs_write32(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmcs_write32(GUEST_ACTIVITY_STATE, GUEST_ACTIVITY_ACTIVE);
	v->regs.rax = start->rax;
	v->regs.rbx = start->rbx;
	v->regs.rsi = start->rsi;

	if (v->cfg->brk == HV_BREAK_GUEST_STATE) {
		/* Test only: RFLAGS bit 1 must be 1 (SDM 27.3.1.4); clearing it must fail the VM entry. */
		log_warn("break=guest_state: clearing reserved RFLAGS bit 1 to demonstrate the entry-failure report");
		vmcs_writenat(GUEST_RFLAGS, 0);
	}
}

int vmcs_setup(struct vcpu *v, struct pmm *pmm, const struct vcpu_start *start)
{
	uint64_t vmcs = alloc_filled_pages(pmm, 1, 0);
	enum vmx_result r;
	int status;

	if (start->mode != START_PROTECTED32_FLAT && start->mode != START_REAL_MODE_SIPI) {
		log_error("the guest loader asked for start mode %u, which the VT-x backend cannot set up", start->mode);
		return HV_ERR_BAD_GUEST;
	}
	if (start->mode == START_REAL_MODE_SIPI && v->mem_mode != HV_MEM_EPT && !start->vm86_tss) {
		log_error("vCPU %u: a start in real mode (after a STARTUP IPI) without unrestricted guest needs a TSS for "
			  "virtual-8086 mode, and the monitor gave none", v->id);
		return HV_ERR_GENERIC;
	}
	if (vmcs == PMM_NO_MEMORY)
		return HV_ERR_NO_MEMORY;
	*(uint32_t *)phys_to_virt(vmcs) = v->caps->revision; /* SDM 25.2 */
	if ((r = vmclear(vmcs)) != VMX_SUCCEED) {
		vmx_report_failure("VMCLEAR", r);
		return HV_ERR_VMX_INSTR;
	}
	if ((r = vmptrld(vmcs)) != VMX_SUCCEED) {
		vmx_report_failure("VMPTRLD", r);
		return HV_ERR_VMX_INSTR;
	}
	this_pcpu()->host_rsp = 0; /* this VMCS has no HOST_RSP yet (vmx_entry.asm writes it) */
	this_pcpu()->vcpu = v;
	log_info("VMCS at %#llx is current%s", (unsigned long long)vmcs, v->id ? " (an application processor's vCPU)" : "");
	status = setup_controls(v, pmm, start->eptp);
	if (status != HV_OK)
		return status;
	setup_host_state(v);
	setup_guest_state(v, start);
	return HV_OK;
}

int vmcs_reset_guest(struct vcpu *v, const struct vcpu_start *start)
{
	if (start->mode == START_REAL_MODE_SIPI && v->mem_mode != HV_MEM_EPT && !start->vm86_tss)
		return HV_ERR_GENERIC;
	v->rc.valid = 0;
	v->rc.dirty = 0;
	setup_guest_state(v, start);
	return HV_OK;
}
