/*
 * The virtual local APIC of one vCPU (SDM Vol. 3A chapter 11): pure state and rules, no VMCS.
 *
 * Time is the TSC, passed in by the caller: the virtual APIC timer counts at the TSC rate divided
 * by the divide configuration (its "bus clock" is the TSC), and IA32_TSC_DEADLINE compares with the
 * TSC.  The monitor calls vlapic_advance() before each VM entry, asks vlapic_next_deadline() when to
 * come back, and vlapic_pending_vector() / vlapic_accept_interrupt() for what to inject.
 */
#ifndef VMM_VLAPIC_H
#define VMM_VLAPIC_H

#include <stdbool.h>
#include <stdint.h>
#include <arch/apic.h>

#define VLAPIC_NO_DEADLINE UINT64_MAX
#define VLAPIC_NO_VECTOR   (-1)

enum vlapic_mode {
	VLAPIC_DISABLED, /* IA32_APIC_BASE.EN = 0 */
	VLAPIC_XAPIC,    /* EN = 1, EXTD = 0: the MMIO page */
	VLAPIC_X2APIC,   /* EN = 1, EXTD = 1: MSRs 0x800-0x8ff */
};

/* The answer to a register access. */
enum vlapic_result {
	VLAPIC_OK,
	VLAPIC_GP, /* x2APIC: #GP (absent register, read of write-only, write of read-only, reserved bits) */
};

/* An IPI the guest sent through its ICR, for the monitor to route to the other vCPUs. */
struct vlapic_ipi {
	uint32_t lo;    /* ICR bits 31:0: vector, delivery mode, destination mode, level, shorthand */
	uint32_t dest;  /* destination field: 8 bits (xAPIC) or 32 (x2APIC) */
	bool x2apic;    /* sent in x2APIC mode (how to read dest) */
};

struct vlapic {
	uint32_t id;
	uint64_t apic_base; /* IA32_APIC_BASE */
	uint32_t tpr, ldr, dfr, svr;
	uint32_t esr, esr_pending; /* ESR: what the last write latched; errors since then (SDM 11.5.3) */
	uint32_t isr[APIC_VECTOR_REGS], tmr[APIC_VECTOR_REGS], irr[APIC_VECTOR_REGS];
	uint32_t lvt[APIC_LVT_COUNT]; /* CMCI, timer, thermal, perf, LINT0, LINT1, error */
	uint32_t icr_lo, icr_hi;
	uint32_t timer_icr, timer_dcr;
	uint64_t timer_start;    /* TSC when the count was loaded (one-shot, periodic) */
	uint64_t timer_deadline; /* TSC of the next expiry, or VLAPIC_NO_DEADLINE */
	uint64_t tsc_deadline;   /* IA32_TSC_DEADLINE (0: disarmed) */
	uint64_t timer_fired;    /* statistics: expiries */
	uint64_t dropped_while_disabled; /* statistics: fixed interrupts refused while software-disabled */
	bool nmi_pending;        /* an NMI (ICR or LVT delivery mode NMI) waits for the CPU (SDM 11.6.1) */
	bool changed;            /* IRR, ISR or TPR changed since the last vlapic_page_store (APIC virtualization) */
	bool regs_changed;       /* another register changed too: the next store writes the whole page */
	bool events_changed;     /* IRR, ISR, TPR, an NMI or the mode changed since the monitor last cleared it */
	struct vlapic_ipi ipi_out; /* the last ICR command that may concern other APICs ... */
	bool ipi_out_pending;      /* ... until the monitor took it (vlapic_take_ipi) */
	/* Written by other CPUs (vlapic_post_*), merged by the owner before entry (vlapic_take_posted). */
	uint32_t posted_irr[APIC_VECTOR_REGS];
	bool posted_nmi;
	bool posted_any;
};

/* Power-up / RESET state (SDM 11.4.7.1): xAPIC mode, software disabled, every LVT masked. */
void vlapic_reset(struct vlapic *a, uint32_t id, bool bsp);

enum vlapic_mode vlapic_mode(const struct vlapic *a);
/* SVR bit 8 (SDM 11.4.7.2): while clear, every LVT stays masked and no fixed interrupt is accepted. */
bool vlapic_software_enabled(const struct vlapic *a);

/*
 * WRMSR IA32_APIC_BASE: false (then #GP) for a reserved bit (above `phys_addr_mask` or in 7:0, 9)
 * or a mode transition SDM 11.12.5 forbids (disabled -> x2APIC, x2APIC -> xAPIC, EXTD without EN).
 */
bool vlapic_set_base(struct vlapic *a, uint64_t value, uint64_t phys_addr_mask, uint64_t now);

/* xAPIC MMIO access of a 32-bit register at `offset` (a bad offset sets ESR bit 7; reads give 0). */
uint32_t vlapic_mmio_read(struct vlapic *a, uint32_t offset, uint64_t now);
void vlapic_mmio_write(struct vlapic *a, uint32_t offset, uint32_t value, uint64_t now);

/* x2APIC MSR access (0x800-0x8ff) with the x2APIC rules (SDM 11.12.1.2). */
enum vlapic_result vlapic_msr_read(struct vlapic *a, uint32_t msr, uint64_t now, uint64_t *value);
enum vlapic_result vlapic_msr_write(struct vlapic *a, uint32_t msr, uint64_t value, uint64_t now);

/*
 * IA32_TSC_DEADLINE (SDM 11.5.4.1): reads 0 outside TSC-deadline mode; writes there are ignored.
 * The deadline is a value of the guest's TSC, which is the host's + `tsc_offset` (IA32_TSC writes,
 * SDM Vol. 3C 26.6.5); the timer fires when the guest's TSC reaches it.
 */
uint64_t vlapic_tsc_deadline_read(const struct vlapic *a);
void vlapic_tsc_deadline_write(struct vlapic *a, uint64_t value, uint64_t tsc_offset, uint64_t now);
/* The guest's TSC moved (tsc_offset is the new one): an armed TSC deadline keeps its guest-TSC value. */
void vlapic_tsc_offset_changed(struct vlapic *a, uint64_t tsc_offset, uint64_t now);

/* Bring the timer up to `now`: an expiry sets the LVT timer vector in the IRR unless masked. */
void vlapic_advance(struct vlapic *a, uint64_t now);
/* TSC of the next timer expiry (VLAPIC_NO_DEADLINE if none is armed). */
/* vlapic_next_deadline(a): inline below, after struct vlapic (called before every VM entry). */

/* An interrupt arrives at the APIC (edge-triggered, fixed): IRR, or ESR for a vector 0-15; dropped while software-disabled. */
void vlapic_set_irr(struct vlapic *a, unsigned vector);

/*
 * IPIs between vCPUs.  An ICR write that may reach another APIC leaves the command in the sender's
 * outbox (the part for the sender itself is delivered at once); vlapic_take_ipi hands it to the
 * monitor, which asks each other vLAPIC whether it accepts it (vlapic_ipi_accepts: physical or
 * logical destination, flat or cluster model, broadcast; SDM 11.6.2) and posts fixed interrupts
 * and NMIs to it from whatever CPU runs the sender.  Posting is atomic; the owner merges what was
 * posted into its IRR before it next enters the guest (vlapic_take_posted: true if anything was).
 */
bool vlapic_take_ipi(struct vlapic *a, struct vlapic_ipi *out);
bool vlapic_ipi_accepts(const struct vlapic *a, uint32_t lo, uint32_t dest, bool x2apic);
void vlapic_post_interrupt(struct vlapic *a, unsigned vector);
void vlapic_post_nmi(struct vlapic *a);
bool vlapic_take_posted(struct vlapic *a);

/* PPR (SDM 11.8.3.1): TPR if its class is at least the highest ISR's, else the ISR class. */
uint32_t vlapic_ppr(const struct vlapic *a);
/* The highest IRR vector whose class is above PPR's (SDM 11.8.3), or VLAPIC_NO_VECTOR. */
int vlapic_pending_vector(const struct vlapic *a);
/* The CPU takes `vector` (from vlapic_pending_vector): IRR -> ISR (SDM 11.8.4). */
void vlapic_accept_interrupt(struct vlapic *a, unsigned vector);
/* MOV from / to CR8 in 64-bit mode: TPR[7:4] (SDM 11.8.6.1); false for reserved bits 63:4 (then #GP). */
uint64_t vlapic_read_cr8(const struct vlapic *a);
bool vlapic_write_cr8(struct vlapic *a, uint64_t value);
/* EOI: clears the highest ISR bit (SDM 11.8.5). */
void vlapic_eoi(struct vlapic *a);

/* The timer's current count (SDM 11.5.4). */
uint32_t vlapic_current_count(const struct vlapic *a, uint64_t now);
/* Divide configuration -> divisor (1..128). */
unsigned vlapic_timer_divisor(uint32_t dcr);

bool vlapic_vector_in(const uint32_t *bits, unsigned vector);
/* The highest vector requested (IRR) or in service (ISR), or VLAPIC_NO_VECTOR. */
int vlapic_highest_irr(const struct vlapic *a);
int vlapic_highest_isr(const struct vlapic *a);

/*
 * The virtual-APIC page (SDM Vol. 3C 30.1): every readable register at its xAPIC offset, for the
 * CPU's APIC virtualization; and back, what virtual-interrupt delivery and TPR, EOI and self-IPI
 * virtualization change in it (TPR, ISR, IRR; SDM 30.1.2, 30.2).
 */
#define VLAPIC_PAGE_WORDS (APIC_MMIO_SIZE / sizeof(uint32_t))
/* Store: IRR, ISR, TPR and PPR, the whole page if regs_changed; clears both flags (callers store when either is set). */
void vlapic_page_store(struct vlapic *a, uint32_t *page, uint64_t now);
void vlapic_page_load(struct vlapic *a, const uint32_t *page);
/* The TPR alone, for a CPU that virtualizes only the TPR (TPR shadow without APIC-register virtualization). */
void vlapic_page_store_tpr(struct vlapic *a, uint32_t *page);
void vlapic_page_load_tpr(struct vlapic *a, const uint32_t *page);

/* True if gpa is in the APIC's 4-KiB page and the APIC is in xAPIC mode (SDM Vol. 3A 11.4.1). */
static inline bool vlapic_mmio_page(const struct vlapic *a, uint64_t gpa)
{
	return vlapic_mode(a) == VLAPIC_XAPIC &&
	       (gpa & ~(uint64_t)(APIC_MMIO_SIZE - 1)) == (a->apic_base & APIC_BASE_ADDR_MASK);
}

static inline uint64_t vlapic_next_deadline(const struct vlapic *a) { return a->timer_deadline; }

#endif
