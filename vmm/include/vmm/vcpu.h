/* One virtual CPU: the guest's registers not kept in the VMCS, and the monitor's view of it. */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <stdbool.h>
#include <stdint.h>
#include "vmm/cmdline.h"
#include "vmm/gpt.h"
#include "vmm/hypercall.h"
#include "vmm/vlapic.h"
#include "vmm/vmx_caps.h"

/* Guest general-purpose registers saved by vmm/vmx_entry.asm (RSP and RIP live in the VMCS). */
struct guest_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t cr2;
};

/* Byte offsets used by vmx_entry.asm: keep in sync (checked below). */
#define GUEST_REGS_RAX 0
#define GUEST_REGS_CR2 (15 * 8)
_Static_assert(__builtin_offsetof(struct guest_regs, rax) == GUEST_REGS_RAX, "guest_regs layout");
_Static_assert(__builtin_offsetof(struct guest_regs, cr2) == GUEST_REGS_CR2, "guest_regs layout");

/* GPR numbering used by exit qualifications and instruction information (SDM Table 28-3). */
enum gpr_index {
	GPR_RAX, GPR_RCX, GPR_RDX, GPR_RBX, GPR_RSP, GPR_RBP, GPR_RSI, GPR_RDI,
	GPR_R8, GPR_R9, GPR_R10, GPR_R11, GPR_R12, GPR_R13, GPR_R14, GPR_R15,
};

struct vmm_memory; /* vmm/memory_setup.h */
struct shadow_state; /* vmm/shadow.h */

/* How much of the local APIC the CPU virtualizes (vmm/apic/apicv.c). */
enum apicv_level { APICV_OFF, APICV_TPR_SHADOW, APICV_FULL };

struct vcpu {
	struct guest_regs regs;
	bool launched;
	bool done;          /* set by a handler to end the guest */
	int status;         /* the status to power off with once done */
	uint16_t vpid;      /* 0: VPID not used */
	uint32_t mem_mode;  /* enum hv_mem_mode actually in use (shadow when the CPU has no EPT) */
	bool efer_switched; /* VM entry/exit load and save IA32_EFER (else SCE/NXE live in the real MSR) */
	bool pat_switched;  /* VM entry/exit load and save IA32_PAT (else the real MSR is the guest's) */
	bool rdtscp_enabled; /* secondary control "enable RDTSCP": RDTSCP/RDPID work (else #UD, hidden in CPUID) */

	/* The current exit, read once per exit by the dispatcher. */
	uint32_t exit_reason;   /* basic exit reason */
	uint64_t exit_qualification;
	uint64_t pending_dbg;   /* breakpoints the emulated instruction hit (pending-debug-exception bits) */

	/* The guest's own view of CR0/CR4/EFER (what it wrote; the monitor owns every bit). */
	uint64_t guest_cr0, guest_cr4, guest_efer;
	uint64_t guest_cr3; /* shadow mode: the guest's CR3 (the hardware one points to a shadow root) */
	uint64_t pae_pdpte[GPT_PAE_PDPTES]; /* PAE paging: the PDPTE registers, loaded as the CPU does (SDM 4.4.1) */

	const struct hv_config *cfg;
	const struct vmx_caps *caps;
	struct vmm_memory *mem;
	struct shadow_state *shadow; /* shadow mode only */

	/* Statistics: exits and monitor cycles per basic exit reason (shared layout with the guest). */
	struct hv_stats stats;
	uint64_t exit_tsc;            /* TSC when the current exit reached the monitor */
	uint64_t guest_idt_logged;    /* first LIDT logged at info level, later ones at debug */
	uint64_t guest_gdt_logged, lstar_logged;
	uint64_t preemption_timer_ticks;
	uint64_t watchdog_mcycles;    /* what the watchdog really waits: watchdog=, capped by the 32-bit timer */
	bool watchdog_across_exits;   /* the timer's remainder is saved at exits (the watchdog sees spins with exits) */
	uint64_t hypercalls_done;     /* hypercalls that succeeded (progress for the watchdog) */
	uint64_t hypercalls_refused;  /* refused for a bad guest buffer (logged at a bounded rate) */
	uint64_t watchdog_mark;       /* console bytes + successful hypercalls when the watchdog was last refilled */
	uint64_t watchdog_left;       /* watchdog time left (preemption-timer ticks) when it counts across exits */

	/* Interrupts: the virtual local APIC and what the VMX-preemption timer is armed for. */
	struct vlapic lapic;
	uint32_t proc_controls;       /* CPU_BASED_VM_EXEC_CONTROL as last written (interrupt-window exiting) */
	uint32_t proc2_controls;      /* SECONDARY_VM_EXEC_CONTROL as last written (APIC virtualization) */
	enum apicv_level apicv;       /* what apicv=1 gets on this CPU: used while the guest is in x2APIC mode */
	uint32_t tpr_threshold;       /* TPR_THRESHOLD as last written (APICV_TPR_SHADOW) */
	bool apicv_active;            /* the APIC-virtualization controls are on now (vmm/apic/apicv.c) */
	uint32_t *vapic_page;         /* the virtual-APIC page */
	bool lapic_page_stale;        /* the CPU may have changed TPR, ISR, IRR on the page since the last exit */
	bool events_waiting;          /* an NMI or interrupt waits for a window: look again before each entry */
	uint8_t *msr_bitmap;          /* the MSR bitmap (x2APIC MSRs pass through while apicv_active) */
	bool preemption_timer;        /* pin-based "activate VMX-preemption timer" is on */
	uint32_t timer_programmed;    /* the value written before the last VM entry */
	bool timer_is_watchdog;       /* it was the watchdog's deadline (else the vLAPIC timer's) */
	uint64_t interrupts_injected; /* external interrupts injected from the vLAPIC */
	uint64_t nmis_injected;       /* NMIs injected from the vLAPIC */
	bool virtual_nmis;            /* pin-based "virtual NMIs": NMI-window exiting is available */
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

/* General-purpose register by SDM number (RSP is read from / written to the VMCS). */
uint64_t vcpu_gpr_read(struct vcpu *v, unsigned gpr);
void vcpu_gpr_write(struct vcpu *v, unsigned gpr, uint64_t value);

/*
 * Complete the exiting instruction: advance RIP (VM_EXIT_INSTRUCTION_LEN), clear RF and blocking by
 * STI / MOV SS, and make its debug traps (noted breakpoints, single step) pending for the guest.
 */
void vcpu_skip_instruction(struct vcpu *v);
/* The same, for an instruction the monitor decoded itself (exits without an instruction length). */
void vcpu_complete_instruction(struct vcpu *v, unsigned len);

/*
 * An emulated instruction's explicit memory access (linear address) or port access: the data or
 * I/O breakpoints it hits fire after the instruction, once vcpu_skip_instruction completes it.
 */
void vcpu_note_data_access(struct vcpu *v, uint64_t gva, uint64_t len, bool write);
void vcpu_note_io_access(struct vcpu *v, uint16_t port, unsigned size);

/* Inject a hardware exception into the guest at the next VM entry (SDM 27.6). */
void vcpu_inject_exception(struct vcpu *v, unsigned vector, bool has_error_code, uint32_t error_code);
/*
 * Before each VM entry (SDM Vol. 3C 27.6): inject the vLAPIC's highest deliverable interrupt when
 * RFLAGS.IF = 1, no STI / MOV SS blocking and no other event is being injected; else ask for an
 * interrupt-window exit while one is pending.
 */
void vcpu_inject_pending_interrupt(struct vcpu *v);
/*
 * Before each VM entry, first: inject the vLAPIC's pending NMI unless an event is being injected or
 * NMI, STI or MOV SS blocking holds; else ask for an NMI-window exit (with "virtual NMIs").
 */
void vcpu_inject_pending_nmi(struct vcpu *v);
/* After an exception or EPT-violation exit: NMI blocking again if a faulting IRET had lifted it. */
void vcpu_restore_nmi_blocking(struct vcpu *v);
/* An event whose delivery a VM exit interrupted is delivered again at the next entry (SDM 28.2.4, 27.6). */
void vcpu_reinject_vectoring_event(struct vcpu *v);
/* Convenience: #GP(0), #UD, #PF with CR2. */
void vcpu_inject_gp0(struct vcpu *v);
void vcpu_inject_ud(struct vcpu *v);
void vcpu_inject_pf(struct vcpu *v, uint64_t cr2, uint32_t error_code);

/* The guest's current privilege level: SS.DPL (SDM Vol. 3A 5.5). */
unsigned vcpu_cpl(void);
/*
 * RFLAGS.AC as SMAP sees it: it lets supervisor accesses reach user pages only at CPL < 3
 * (SDM Vol. 3A 4.6.1; the monitor only walks for explicit accesses of the guest's instructions).
 */
bool guest_rflags_ac_for_smap(void);

/* Stop the guest: report, then power off with `status` once the run loop sees it. */
void vcpu_stop(struct vcpu *v, int status);

/* vmm/vmx_entry.asm: enter the guest; returns 0 after a VM exit, else the VMX failure (enum vmx_result). */
int vmx_enter_guest(struct guest_regs *regs, int launched);

#endif
