/* One virtual CPU: the guest's registers not kept in the VMCS, and the monitor's view of it. */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <stdbool.h>
#include <stdint.h>
#include <arch/cpuid.h>
#include "vmm/cmdline.h"
#include "vmm/gpt.h"
#include "vmm/hypercall.h"
#include "vmm/vcpu_regs.h"
#include "vmm/vlapic.h"
#include "vmm/vm_exit.h"
#include "vmm/vmx_caps.h"

/*
 * Guest general-purpose registers saved by vmm/vmx/vmx_entry.asm (RSP and RIP are in the register
 * cache); the assembly's offsets are generated from this definition (vmm/gen/asm_offsets.c).
 */
struct guest_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t cr2;
};

/*
 * The guest state the backend keeps (VT-x: in the VMCS), cached for one exit: each register is read
 * from the backend at most once per exit (valid), and the ones written go back before the next
 * entry (dirty).  The backend empties the cache at every exit and writes the dirty ones back just
 * before entry (vmm/vmx/regs.c).
 */
struct vcpu_reg_cache {
	uint64_t value[VCPU_REG_COUNT];
	uint64_t valid, dirty; /* bit n: register n */
};

/*
 * Events to deliver (SDM Vol. 3A 6.9 priorities; Vol. 3C 27.6 injection).  The backend injects at
 * most one per entry, in this order: the exception (a handler's, or one whose delivery an exit
 * interrupted), an NMI or an interrupt whose delivery an exit interrupted, then the vLAPIC's NMI and
 * highest interrupt.  Nothing else writes the entry-interruption fields (vmm/vmx/inject.c).
 */
struct vcpu_events {
	struct event exception;  /* a hardware or software exception (or a re-delivered INT n) */
	struct event interrupt;  /* an external interrupt already accepted by the vLAPIC (ISR set), re-delivered */
	bool nmi_redeliver;      /* an NMI whose delivery an exit cut short */
	unsigned requests;       /* VCPU_REQ_* */
	bool queued;             /* an event above was queued since the last entry: the backend looks */
};
#define VCPU_REQ_TLB_FLUSH    (1u << 0) /* flush the guest's linear translations before entry */
#define VCPU_REQ_TRIPLE_FAULT (1u << 1) /* an exception while delivering a double fault: the vCPU shuts down */

/* GPR numbering used by exit qualifications and instruction information (SDM Table 28-3). */
enum gpr_index {
	GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI,
	GPR_R8, GPR_R9, GPR_R10, GPR_R11, GPR_R12, GPR_R13, GPR_R14, GPR_R15,
};

struct vmm_memory; /* vmm/memory_setup.h */
struct vm;         /* vmm/vmm.h */
struct vuart;      /* vmm/vuart.h */
struct io_ledger;  /* vmm/io_ledger.h */
struct mmu_ops;    /* vmm/mmu_ops.h */
struct shadow_state; /* vmm/shadow.h */

/* vCPUs one VM may have: each is pinned to a physical CPU of its own (static partitioning). */
#define VCPU_MAX_PER_VM 16

/*
 * The vCPUs of one VM as each of them sees the others: for IPIs (vmm/core/ipi.c) and for the stop,
 * which the first vCPU to end the VM publishes and every other one obeys at its next exit.
 */
struct vcpu_group {
	unsigned count;
	struct vcpu *vcpu[VCPU_MAX_PER_VM];
	bool stopping;      /* atomic: set once, by vcpu_group_stop */
	int stop_status;    /* the status the VM ends with (written before `stopping`) */
	uint32_t stopper;   /* the vCPU that stopped it */
};

/* Where a vCPU stands between the physical CPU's runs of it (SDM Vol. 3A 9.4: INIT, STARTUP). */
enum vcpu_run_state {
	VCPU_WAIT_FOR_SIPI, /* after INIT (an AP from the start): waits for a STARTUP IPI */
	VCPU_RUNNING,
	VCPU_PARKED,        /* the VM stopped: its physical CPU waits with interrupts off */
};
#define HOST_CPUID_CACHED 5 /* struct vcpu's host_cpuid: leaves 0, 1, 7.0, 80000000h, 80000001h */
#define VCPU_NO_SIPI 0xffffffffu /* sipi_posted: no STARTUP IPI waiting */

/* How much of the local APIC the CPU virtualizes (vmm/vmx/apicv.c). */
enum apicv_level { APICV_OFF, APICV_TPR_SHADOW, APICV_FULL };

struct vcpu {
	struct guest_regs regs;
	struct vcpu_reg_cache rc;
	struct vcpu_events events;
	struct vm_exit exit;     /* the current exit, decoded by the backend */
	bool launched;
	uint16_t vpid;      /* 0: VPID not used */
	uint32_t mem_mode;  /* enum hv_mem_mode actually in use (shadow when the CPU has no EPT) */
	bool efer_switched; /* VM entry/exit load and save IA32_EFER (else SCE/NXE live in the real MSR) */
	bool pat_switched;  /* VM entry/exit load and save IA32_PAT (else the real MSR is the guest's) */
	bool rdtscp_enabled; /* secondary control "enable RDTSCP": RDTSCP/RDPID work (else #UD, hidden in CPUID) */
	bool tsc_offsetting; /* primary control "use TSC offsetting": IA32_TSC and IA32_TSC_ADJUST writes are offered */
	/*
	 * The host CPU's CPUID answers for the leaves the exit paths ask most (leaves 0, 1, 7.0, 80000000h,
	 * 80000001h; exit/cpuid.c), read once at creation: every MSR exit asks the guest's CPUID whether
	 * that MSR exists, and CPUID in VMX root costs a real CPU far more than a load.
	 */
	struct cpuid_regs host_cpuid[HOST_CPUID_CACHED];
	bool host_cpuid_cached;
	uint64_t tsc_offset; /* the guest's TSC = the host's + tsc_offset (SDM Vol. 3C 26.6.5); kept over INIT */
	uint64_t tsc_adjust; /* IA32_TSC_ADJUST as the guest sees it: what its TSC writes moved (SDM Vol. 3B 18.17.3) */

	uint64_t pending_dbg;   /* breakpoints the emulated instruction hit (pending-debug-exception bits) */

	/* The guest's own view of CR0/CR4/EFER (what it wrote; the monitor owns every bit). */
	uint64_t guest_cr0, guest_cr4, guest_efer;
	uint64_t guest_cr3; /* shadow mode: the guest's CR3 (the hardware one points to a shadow root) */
	uint64_t pae_pdpte[GPT_PAE_PDPTES]; /* PAE paging: the PDPTE registers, loaded as the CPU does (SDM 4.4.1) */

	const struct hv_config *cfg;
	const struct vmx_caps *caps;
	struct vm *vm;               /* the VM this vCPU belongs to (vmm/vmm.h) */
	struct vmm_memory *mem;      /* the VM's memory */
	struct shadow_state *shadow; /* shadow mode only */
	struct vuart *uart;          /* the VM's UART */
	struct io_ledger *io_ledger; /* the VM's unclaimed I/O ports */
	const struct mmu_ops *mmu;   /* memory virtualization: EPT or shadow paging (vmm/mmu_ops.h) */

	/* Statistics: exits and monitor cycles per basic exit reason (shared layout with the guest). */
	struct hv_stats stats;
	uint64_t exit_tsc;            /* TSC when the current exit reached the monitor */
	uint64_t guest_idt_logged;    /* first LIDT logged at info level, later ones at debug */
	uint64_t guest_gdt_logged, lstar_logged;
	unsigned apic_mode_changes_logged; /* the first few at info level: a guest may flip modes at will */
	uint64_t preemption_timer_ticks; /* break=exit_storm / no_hlt_exiting: the fixed timer reload */
	uint64_t watchdog_cycles;     /* watchdog= in TSC cycles; 0: no watchdog */
	uint64_t watchdog_deadline;   /* TSC: the guest is stopped if it shows no sign of life by then (never: UINT64_MAX) */
	uint64_t trace_left;          /* trace=exits: lines the exit trace may still print */
	uint64_t hypercalls_done;     /* hypercalls that succeeded (progress for the watchdog) */
	uint64_t hypercalls_refused;  /* refused for a bad guest buffer (logged at a bounded rate) */
	uint64_t watchdog_mark;       /* console bytes + successful hypercalls when the watchdog was last refilled */

	/* Interrupts: the virtual local APIC and what the VMX-preemption timer is armed for. */
	struct vlapic lapic;
	uint32_t proc_controls;       /* CPU_BASED_VM_EXEC_CONTROL as last written (interrupt-window exiting) */
	uint32_t proc2_controls;      /* SECONDARY_VM_EXEC_CONTROL as last written (APIC virtualization) */
	enum apicv_level apicv;       /* what apicv=1 gets on this CPU: used while the guest is in x2APIC mode */
	uint32_t tpr_threshold;       /* TPR_THRESHOLD as last written (APICV_TPR_SHADOW) */
	bool apicv_active;            /* the APIC-virtualization controls are on now (vmm/vmx/apicv.c) */
	uint32_t *vapic_page;         /* the virtual-APIC page */
	bool lapic_page_stale;        /* the CPU may have changed TPR, ISR, IRR on the page since the last exit */
	bool events_waiting;          /* an NMI or interrupt waits for a window: look again before each entry */
	uint8_t *msr_bitmap;          /* the MSR bitmap (x2APIC MSRs pass through while apicv_active) */
	bool preemption_timer;        /* pin-based "activate VMX-preemption timer" is on */
	bool timer_armed_at_entry;    /* the backend arms it before each entry (not with the break modes) */
	uint8_t timer_rate;           /* the timer counts TSC >> timer_rate (IA32_VMX_MISC[4:0]) */
	bool timer_is_watchdog;       /* it was the watchdog's deadline (else the vLAPIC timer's) */
	uint64_t interrupts_injected; /* external interrupts injected from the vLAPIC */
	uint64_t nmis_injected;       /* NMIs injected from the vLAPIC */
	bool virtual_nmis;            /* pin-based "virtual NMIs": NMI-window exiting is available */

	/* Several vCPUs (vmm/core/ipi.c): identity, placement, and what other CPUs post to this one. */
	unsigned id;                  /* its index in the VM, and its APIC ID */
	bool vm86;                    /* its real-mode start runs in virtual-8086 mode (no unrestricted guest) */
	struct vcpu_group *group;     /* the VM's vCPUs */
	uint32_t host_apic_id;        /* the physical CPU it is pinned to (its kicks go there) */
	uint32_t run_state;           /* enum vcpu_run_state */
	bool attention;               /* atomic: something was posted (interrupt, NMI, INIT, STARTUP, stop) */
	bool init_posted;             /* atomic: an INIT IPI arrived */
	uint32_t sipi_posted;         /* atomic: the vector of a STARTUP IPI, or VCPU_NO_SIPI */
	uint64_t guest_cycles;        /* TSC cycles from its launch to its end */
	uint64_t ipis_sent;           /* statistics: IPIs this vCPU sent to others, and kicks they cost */
	uint64_t kicks_sent;
	uint64_t kicks_received;      /* statistics: kicks that made it leave the guest */
	/*
	 * Several vCPUs: the guest timer also fires at least every poll_cycles TSC cycles, a backstop
	 * for a kick that does not make the CPU leave the guest.  On real CPUs a kick always does;
	 * Bochs 2.7 loses it after it injected an interrupt into a guest that then spins with
	 * RFLAGS.IF = 0 (it masks external interrupts as if "external-interrupt exiting" were off).
	 * 0: none (one vCPU).
	 */
	uint64_t poll_cycles;
	unsigned ipis_dropped_logged; /* IPIs that reached no vCPU: the first few are logged */
};

/*
 * The vCPU's virtual local APIC, up to date: with APIC virtualization the CPU changes TPR, ISR and
 * IRR on the virtual-APIC page while the guest runs, and they are read back only when the monitor
 * looks (an exit that touches the APIC, or an event to deliver), not after every exit.
 */
static inline struct vlapic *vcpu_lapic(struct vcpu *v)
{
	if (v->lapic_page_stale) {
		/* With the TPR shadow alone the CPU changes the TPR only, and the page holds nothing else. */
		if (v->apicv == APICV_TPR_SHADOW)
			vlapic_page_load_tpr(&v->lapic, v->vapic_page);
		else
			vlapic_page_load(&v->lapic, v->vapic_page);
		v->lapic_page_stale = false;
	}
	return &v->lapic;
}

/* The backend's side of the register cache (VT-x: VMREAD of the register's VMCS field). */
uint64_t backend_reg_read(struct vcpu *v, enum vcpu_reg r);

/* A guest register, through the cache. */
static inline uint64_t vcpu_read(struct vcpu *v, enum vcpu_reg r)
{
	const uint64_t bit = 1ull << r;
	if (__builtin_expect(!(v->rc.valid & bit), 0)) {
		v->rc.value[r] = backend_reg_read(v, r);
		v->rc.valid |= bit;
	}
	return v->rc.value[r];
}

static inline void vcpu_write(struct vcpu *v, enum vcpu_reg r, uint64_t value)
{
	static const uint8_t bits[VCPU_REG_COUNT] = {
#define VCPU_REG_WIDTH(name, b) [VCPU_##name] = b,
		VCPU_REGS(VCPU_REG_WIDTH)
#undef VCPU_REG_WIDTH
	};
	const uint64_t bit = 1ull << r;
	if (bits[r] < 64)
		value &= (1ull << bits[r]) - 1; /* as the backend will keep it */
	v->rc.value[r] = value;
	v->rc.valid |= bit;
	v->rc.dirty |= bit;
}

/* General-purpose register by SDM number (RSP is read from / written to the VMCS). */
uint64_t vcpu_gpr_read(struct vcpu *v, unsigned gpr);
void vcpu_gpr_write(struct vcpu *v, unsigned gpr, uint64_t value);

/*
 * Complete the exiting instruction: advance RIP (VM_EXIT_INSTRUCTION_LEN), clear RF and blocking by
 * STI / MOV SS, and make its debug traps (noted breakpoints, single step) pending for the guest.
 */
static inline void vcpu_skip_instruction(struct vcpu *v);
/* The same, for an instruction the monitor decoded itself (exits without an instruction length). */
void vcpu_complete_instruction(struct vcpu *v, unsigned len);

/*
 * An emulated instruction's explicit memory access (linear address) or port access: the data or
 * I/O breakpoints it hits fire after the instruction, once vcpu_skip_instruction completes it.
 */
void vcpu_note_data_access(struct vcpu *v, uint64_t gva, uint64_t len, bool write);
void vcpu_note_io_access(struct vcpu *v, uint16_t port, unsigned size);

/*
 * Queue a hardware exception for the next VM entry.  When one is already queued (a handler's, or an
 * event whose delivery this exit interrupted) the two combine as the CPU combines them (SDM Vol. 3A
 * 6.15, Table 6-5): a double fault, a triple fault (the vCPU shuts down: VCPU_REQ_TRIPLE_FAULT), or
 * the new one delivered first (vmm/core/vcpu.c, vmm/core/event_merge.c).
 */
void vcpu_inject_exception(struct vcpu *v, unsigned vector, bool has_error_code, uint32_t error_code);
/*
 * An event whose delivery an exit interrupted (SDM 28.2.4) is delivered again at the next entry
 * (27.6): an exception or software event in the exception slot, an NMI or external interrupt in
 * their own (the backend calls this while decoding the exit).
 */
void vcpu_requeue_event(struct vcpu *v, const struct event *e);
/* Convenience: #GP(0), #UD, #PF with CR2. */
void vcpu_inject_gp0(struct vcpu *v);
void vcpu_inject_ud(struct vcpu *v);
void vcpu_inject_pf(struct vcpu *v, uint64_t cr2, uint32_t error_code);

/* The guest's current privilege level: SS.DPL (SDM Vol. 3A 5.5; access rights: SDM Table 25-2). */
#define VCPU_AR_DPL_SHIFT 5
#define VCPU_AR_DPL_MASK  0x3u
#define VCPU_AR_L         (1u << 13) /* CS.L: 64-bit code */
#define VCPU_EFER_LMA     (1ull << 10) /* IA32_EFER.LMA (SDM Vol. 3A 2.2.1) */
static inline unsigned vcpu_cpl(struct vcpu *v)
{
	return ((uint32_t)vcpu_read(v, VCPU_SS_AR_BYTES) >> VCPU_AR_DPL_SHIFT) & VCPU_AR_DPL_MASK;
}
/* The guest runs 64-bit code: IA-32e mode and CS.L (SDM Vol. 3A 5.2.1). */
static inline bool vcpu_long64(struct vcpu *v)
{
	return (v->guest_efer & VCPU_EFER_LMA) && (vcpu_read(v, VCPU_CS_AR_BYTES) & VCPU_AR_L);
}
/*
 * RFLAGS.AC as SMAP sees it: it lets supervisor accesses reach user pages only at CPL < 3
 * (SDM Vol. 3A 4.6.1; the monitor only walks for explicit accesses of the guest's instructions).
 */
bool guest_rflags_ac_for_smap(struct vcpu *v);

/* Report the current exit in full (unexpected or fatal) and return `status`, for a handler to return. */
int exit_report_and_stop(struct vcpu *v, int status, const char *what);

/* Ask for a flush of the guest's linear translations before the next entry (one flush however many ask). */
static inline void vcpu_request_tlb_flush(struct vcpu *v)
{
	v->events.requests |= VCPU_REQ_TLB_FLUSH;
}

/*
 * The common case inline (most instruction exits): RIP, RFLAGS and the interruptibility state are in
 * the cache (the backend preloads them for instruction exits), and there is no RF, TF, STI / MOV SS
 * blocking or noted breakpoint to take care of: RIP moves on, and that is all.
 */
#define VCPU_SKIP_FAST_VALID ((1ull << VCPU_RIP) | (1ull << VCPU_RFLAGS) | (1ull << VCPU_INTERRUPTIBILITY_INFO))
#define VCPU_SKIP_RFLAGS_SLOW ((1ull << 16) | (1ull << 8)) /* RF, TF (SDM Vol. 3A 2.3) */
#define VCPU_SKIP_BLOCKING_SLOW 0x3u /* blocking by STI, by MOV SS (SDM Table 25-3) */
static inline void vcpu_skip_instruction(struct vcpu *v)
{
	if (__builtin_expect((v->rc.valid & VCPU_SKIP_FAST_VALID) == VCPU_SKIP_FAST_VALID &&
			     !(v->rc.value[VCPU_RFLAGS] & VCPU_SKIP_RFLAGS_SLOW) &&
			     !(v->rc.value[VCPU_INTERRUPTIBILITY_INFO] & VCPU_SKIP_BLOCKING_SLOW) && !v->pending_dbg, 1)) {
		v->rc.value[VCPU_RIP] += v->exit.insn_len;
		v->rc.dirty |= 1ull << VCPU_RIP;
		return;
	}
	vcpu_complete_instruction(v, v->exit.insn_len);
}

#endif
