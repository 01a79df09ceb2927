/*
 * Task switches (exit reason 9).  In VMX non-root operation every task switch
 * exits (SDM Vol. 3C 26.4.2), after the processor has made only the first
 * checks (the gate's and the TSS descriptor's privilege, the selector, the
 * descriptor's type, P bit and limit: some processors, Bochs among them, leave
 * the limit to us).  The monitor performs the switch of SDM Vol. 3A 7.3 step
 * by step on the guest's GDT, TSSes and VMCS state, for 32-bit TSSes outside
 * IA-32e mode (the only place task switches exist):
 *
 *   before the commit point (faults go to the old task):
 *     new TSS selector and descriptor checks (task_check_new_tss),
 *     save EIP, EFLAGS, the general registers and selectors in the old TSS,
 *     clear the old busy flag (JMP, IRET), write the previous task link and
 *     set NT (CALL, task gate), set the new busy flag (JMP, CALL, task gate);
 *   commit: TR is loaded;
 *   after it (faults go to the new task): CR0.TS, CR3 when paging is on,
 *     EIP, EFLAGS, general registers, LDTR, then each segment descriptor
 *     qualified (task_check_segment) and loaded, then the error code of an
 *     exception delivered through a task gate pushed on the new stack.
 *
 * Not emulated, and stopped with a message (status HV_ERR_UNEXPECTED_EXIT):
 * 16-bit TSSes, a new task with EFLAGS.VM = 1 (virtual-8086 mode).  Not
 * emulated, silently: the T (debug trap) flag of the new TSS, and NMI
 * blocking after an NMI through a task gate (the monitor delivers no NMIs).
 * The privilege checks of JMP/CALL/INT n are the processor's, done before the
 * exit: the exit qualification names the TSS, not the gate that may have led
 * to it, so they cannot be redone here.
 */
#include <string.h>
#include <arch/cr.h>
#include <arch/msr.h>
#include <arch/segment.h>
#include <arch/vmx_state.h>
#include "vmm/exits.h"
#include "vmm/log.h"
#include "vmm/memory.h"
#include "vmm/status.h"
#include "vmm/task.h"

/* DR7 L0-L3: cleared by the processor at every task switch (SDM Vol. 3B 18.2.4). */
#define DR7_LOCAL_ENABLES 0x55ull
/* Interruptibility state (SDM Vol. 3C 25.4.2, Table 25-3): a task switch ends STI / MOV SS blocking. */
#define INTERRUPTIBILITY_STI    (1u << 0)
#define INTERRUPTIBILITY_MOV_SS (1u << 1)

/* The data segments in the order their descriptors are qualified (SDM Vol. 3A Table 7-1 row 14). */
static const enum vcpu_segment data_segs[] = { SEG_DS, SEG_ES, SEG_FS, SEG_GS };
enum { DATA_DS, DATA_ES, DATA_FS, DATA_GS, DATA_SEGMENTS };

/* The switch in progress. */
struct task_switch {
	enum task_source src;
	uint16_t new_sel, old_sel;
	struct event event;    /* the event delivered through a task gate (valid when through the IDT) */
	bool ext;              /* delivering an event external to the program: EXT in error codes */
	uint64_t new_desc;     /* the new TSS descriptor as read from the GDT */
	struct seg_desc new_tss_desc;
	struct tss32 tss;      /* the new task's TSS image */
};

/* Access guest linear memory as the processor's implicit supervisor accesses; on a failure inject #PF or #GP(0). */
static bool sys_access(struct vcpu *v, uint64_t gva, void *buf, uint64_t len, bool write)
{
	uint64_t pf_addr;
	uint32_t pf_error;
	int r = write ? vmm_guest_virt_write_implicit(v, gva, buf, len, &pf_addr, &pf_error)
		      : vmm_guest_virt_read_implicit(v, gva, buf, len, &pf_addr, &pf_error);
	if (r == GUEST_ACCESS_OK)
		return true;
	log_debug("task switch: the %s of guest linear %#llx faulted: %s injected", write ? "write" : "read",
		  (unsigned long long)gva, r == GUEST_ACCESS_PAGE_FAULT ? "#PF" : "#GP(0)");
	if (r == GUEST_ACCESS_PAGE_FAULT)
		vcpu_inject_pf(v, pf_addr, pf_error);
	else
		vcpu_inject_gp0(v);
	return false;
}

/*
 * Deliver a fault of the switch.  Before the commit point, a fault while the switch delivers a
 * hardware exception combines with it (SDM Vol. 3A 6.15, Table 6-5): the event is queued first, and
 * vcpu_inject_exception combines the two into a double fault, or a triple fault.
 */
static void deliver_fault(struct vcpu *v, const struct task_switch *ts, const struct task_fault *f, bool committed)
{
	if (!committed && ts->ext)
		v->events.exception = ts->event;
	log_debug("task switch to %#x: %s (vector %u), error code %#x, in the %s task", ts->new_sel,
		  exception_name(f->vector), f->vector, f->error_code, committed ? "new" : "old");
	vcpu_inject_exception(v, f->vector, true, f->error_code);
}

static int stop_unsupported(struct vcpu *v, const char *what)
{
	return exit_report_and_stop(v, HV_ERR_UNEXPECTED_EXIT, what);
}

/* Read or write the GDT descriptor of sel (already checked against the GDT limit). */
static bool gdt_descriptor(struct vcpu *v, uint16_t sel, uint64_t *raw, bool write)
{
	return sys_access(v, vcpu_read(v, VCPU_GDTR_BASE) + (sel & SELECTOR_INDEX_MASK), raw, sizeof(*raw), write);
}

/* SDM Vol. 3A 7.3 steps 1-3: find and check the new TSS (old task's context). */
static bool check_new_tss(struct vcpu *v, struct task_switch *ts)
{
	const uint32_t gdt_limit = (uint32_t)vcpu_read(v, VCPU_GDTR_LIMIT);
	struct task_fault f;

	ts->new_desc = 0;
	if (!(ts->new_sel & SELECTOR_TI) && task_selector_in_table(ts->new_sel, gdt_limit) &&
	    !gdt_descriptor(v, ts->new_sel, &ts->new_desc, false))
		return false;
	if (!task_check_new_tss(ts->new_sel, ts->new_desc, gdt_limit, ts->src, ts->ext, &f)) {
		deliver_fault(v, ts, &f, false);
		return false;
	}
	desc_decode(ts->new_desc, &ts->new_tss_desc);
	return true;
}

/* The EIP the old task resumes at: after the instruction, unless a hardware event interrupted it. */
static uint32_t old_task_eip(struct vcpu *v, const struct task_switch *ts)
{
	const uint64_t rip = vcpu_read(v, VCPU_RIP);
	if (ts->src == TASK_SRC_IDT_GATE && ts->ext)
		return (uint32_t)rip; /* a fault or interrupt: the instruction has not run (SDM Vol. 3A 6.5) */
	return (uint32_t)(rip + v->exit.insn_len); /* 28.2.5: CALL, JMP, IRET, INT n */
}

/* SDM Vol. 3A 7.3 steps 5-6: the old task's state into its TSS (EIP through GS only). */
static bool save_old_task(struct vcpu *v, const struct task_switch *ts)
{
	struct tss32 old;
	uint64_t eflags = vcpu_read(v, VCPU_RFLAGS);
	if (ts->src == TASK_SRC_IRET)
		eflags &= ~RFLAGS_NT; /* step 5: IRET clears NT in the saved image */
	memset(&old, 0, sizeof(old));
	old.eip = old_task_eip(v, ts);
	old.eflags = (uint32_t)eflags;
	old.eax = (uint32_t)v->regs.rax, old.ecx = (uint32_t)v->regs.rcx;
	old.edx = (uint32_t)v->regs.rdx, old.ebx = (uint32_t)v->regs.rbx;
	old.esp = (uint32_t)vcpu_read(v, VCPU_RSP), old.ebp = (uint32_t)v->regs.rbp;
	old.esi = (uint32_t)v->regs.rsi, old.edi = (uint32_t)v->regs.rdi;
	old.es = (uint16_t)vcpu_read(v, VCPU_ES_SELECTOR), old.cs = (uint16_t)vcpu_read(v, VCPU_CS_SELECTOR);
	old.ss = (uint16_t)vcpu_read(v, VCPU_SS_SELECTOR), old.ds = (uint16_t)vcpu_read(v, VCPU_DS_SELECTOR);
	old.fs = (uint16_t)vcpu_read(v, VCPU_FS_SELECTOR), old.gs = (uint16_t)vcpu_read(v, VCPU_GS_SELECTOR);
	return sys_access(v, vcpu_read(v, VCPU_TR_BASE) + TSS32_DYNAMIC_START, (uint8_t *)&old + TSS32_DYNAMIC_START,
			  TSS32_DYNAMIC_END - TSS32_DYNAMIC_START, true);
}

/* SDM Vol. 3A 7.3 steps 4, 7, 8 and 7.4: busy flags, the previous task link, NT. */
static bool link_and_mark(struct vcpu *v, struct task_switch *ts)
{
	const uint64_t busy = (uint64_t)SEG_TYPE_TSS_BUSY_FLAG << DESC_TYPE_SHIFT;
	if (ts->src == TASK_SRC_JMP || ts->src == TASK_SRC_IRET) {
		uint64_t old_desc;
		if (!task_selector_in_table(ts->old_sel, (uint32_t)vcpu_read(v, VCPU_GDTR_LIMIT))) {
			struct task_fault f = { true, VECTOR_TS, task_selector_error_code(ts->old_sel, ts->ext) };
			deliver_fault(v, ts, &f, false);
			return false;
		}
		if (!gdt_descriptor(v, ts->old_sel, &old_desc, false))
			return false;
		old_desc &= ~busy;
		if (!gdt_descriptor(v, ts->old_sel, &old_desc, true))
			return false;
	}
	if (ts->src == TASK_SRC_CALL || ts->src == TASK_SRC_IDT_GATE) {
		ts->tss.prev_task_link = ts->old_sel;
		ts->tss.eflags |= RFLAGS_NT;
		if (!sys_access(v, ts->new_tss_desc.base + __builtin_offsetof(struct tss32, prev_task_link),
				&ts->tss.prev_task_link, sizeof(ts->tss.prev_task_link), true))
			return false;
	}
	if (ts->src != TASK_SRC_IRET) {
		ts->new_desc |= busy;
		if (!gdt_descriptor(v, ts->new_sel, &ts->new_desc, true))
			return false;
	}
	return true;
}

static void load_segment(struct vcpu *v, enum vcpu_segment seg, uint16_t sel, uint64_t raw)
{
	struct seg_desc d;
	desc_decode(raw, &d);
	vcpu_write(v, vcpu_seg_reg(seg, SEGF_SELECTOR), sel);
	vcpu_write(v, vcpu_seg_reg(seg, SEGF_BASE), d.base);
	vcpu_write(v, vcpu_seg_reg(seg, SEGF_LIMIT), d.limit);
	vcpu_write(v, vcpu_seg_reg(seg, SEGF_AR_BYTES), desc_vmx_ar(raw));
}

static void load_unusable(struct vcpu *v, enum vcpu_segment seg, uint16_t sel)
{
	vcpu_write(v, vcpu_seg_reg(seg, SEGF_SELECTOR), sel);
	vcpu_write(v, vcpu_seg_reg(seg, SEGF_AR_BYTES), VMX_AR_UNUSABLE);
}

/* The new task's LDT, once loaded, for selectors with TI = 1. */
struct ldt_view {
	bool usable;
	uint32_t base, limit;
};

/*
 * Fetch the descriptor of sel for qualification: *have false when the
 * selector is null or outside its table (the checks then fault as they should).
 * Returns false when reading guest memory faulted (injected).
 */
static bool fetch_descriptor(struct vcpu *v, uint16_t sel, const struct ldt_view *ldt, uint64_t *raw, bool *have)
{
	uint64_t base;
	*have = false;
	if (task_selector_null(sel))
		return true;
	if (sel & SELECTOR_TI) {
		if (!ldt->usable || !task_selector_in_table(sel, ldt->limit))
			return true;
		base = ldt->base;
	} else {
		if (!task_selector_in_table(sel, (uint32_t)vcpu_read(v, VCPU_GDTR_LIMIT)))
			return true;
		base = vcpu_read(v, VCPU_GDTR_BASE);
	}
	if (!sys_access(v, base + (sel & SELECTOR_INDEX_MASK), raw, sizeof(*raw), false))
		return false;
	*have = true;
	return true;
}

/* Loading a code or data descriptor sets its accessed bit in memory (SDM Vol. 3A 3.4.5.1). */
static bool mark_accessed(struct vcpu *v, uint16_t sel, const struct ldt_view *ldt, uint64_t *raw)
{
	const uint64_t accessed = (uint64_t)SEG_TYPE_ACCESSED << DESC_TYPE_SHIFT;
	if (*raw & accessed)
		return true;
	*raw |= accessed;
	return sys_access(v, ((sel & SELECTOR_TI) ? ldt->base : vcpu_read(v, VCPU_GDTR_BASE)) + (sel & SELECTOR_INDEX_MASK),
			  raw, sizeof(*raw), true);
}

/*
 * SDM Vol. 3A 7.3 step 13: qualify and load LDTR, CS and SS (as a pair, so
 * the VMCS never holds a CS and an SS of different privilege), then the data
 * segments.  At the first fault the fault goes to the new task, and the
 * segment registers not yet loaded keep their old selectors and descriptors
 * (the SDM leaves them undefined: "may corrupt architectural state"; the old
 * ones keep the VMCS guest state valid for VM entry).
 */
static bool load_new_segments(struct vcpu *v, struct task_switch *ts)
{
	const struct tss32 *t = &ts->tss;
	const uint16_t data_sel[DATA_SEGMENTS] = { [DATA_DS] = t->ds, [DATA_ES] = t->es, [DATA_FS] = t->fs, [DATA_GS] = t->gs };
	const unsigned cpl = t->cs & SELECTOR_RPL_MASK;
	struct ldt_view ldt = { false, 0, 0 };
	struct task_fault f = { false, 0, 0 };
	uint64_t raw = 0, cs_raw = 0, ss_raw = 0;
	bool have, have_ss;

	/* LDTR first: TI = 1 selectors below use the new LDT.  An LDT selector must name the GDT. */
	have = false;
	if (!(t->ldt_selector & SELECTOR_TI) && !fetch_descriptor(v, t->ldt_selector, &ldt, &raw, &have))
		goto memory_fault;
	if (!task_check_segment(TASK_SEG_LDTR, t->ldt_selector, have ? &raw : NULL, cpl, ts->ext, &f))
		goto fault;
	if (!task_selector_null(t->ldt_selector)) {
		struct seg_desc d;
		desc_decode(raw, &d);
		load_segment(v, SEG_LDTR, t->ldt_selector, raw);
		ldt = (struct ldt_view){ true, d.base, d.limit };
	} else {
		load_unusable(v, SEG_LDTR, t->ldt_selector);
	}

	if (!fetch_descriptor(v, t->cs, &ldt, &cs_raw, &have) || !fetch_descriptor(v, t->ss, &ldt, &ss_raw, &have_ss))
		goto memory_fault;
	if (!task_check_segment(TASK_SEG_CS, t->cs, have ? &cs_raw : NULL, cpl, ts->ext, &f) ||
	    !task_check_segment(TASK_SEG_SS, t->ss, have_ss ? &ss_raw : NULL, cpl, ts->ext, &f))
		goto fault;
	if (!mark_accessed(v, t->cs, &ldt, &cs_raw) || !mark_accessed(v, t->ss, &ldt, &ss_raw))
		goto memory_fault;
	load_segment(v, SEG_CS, t->cs, cs_raw);
	load_segment(v, SEG_SS, t->ss, ss_raw);

	for (unsigned loaded = 0; loaded < DATA_SEGMENTS; loaded++) {
		const uint16_t sel = data_sel[loaded];
		if (!fetch_descriptor(v, sel, &ldt, &raw, &have))
			goto memory_fault;
		if (!task_check_segment(TASK_SEG_DATA, sel, have ? &raw : NULL, cpl, ts->ext, &f))
			goto fault;
		if (task_selector_null(sel)) {
			load_unusable(v, data_segs[loaded], sel);
			continue;
		}
		if (!mark_accessed(v, sel, &ldt, &raw))
			goto memory_fault;
		load_segment(v, data_segs[loaded], sel, raw);
	}
	return true;

fault:
	deliver_fault(v, ts, &f, true);
memory_fault:
	return false;
}

/* SDM Vol. 3A 6.12.2: an exception with an error code, delivered to a task, pushes it on the new task's stack. */
static void push_error_code(struct vcpu *v, uint32_t error_code)
{
	uint32_t esp = (uint32_t)vcpu_read(v, VCPU_RSP) - sizeof(error_code);
	uint64_t linear = (uint32_t)(vcpu_read(v, VCPU_SS_BASE) + esp);
	if (!sys_access(v, linear, &error_code, sizeof(error_code), true))
		return;
	vcpu_write(v, VCPU_RSP, esp);
}

int handle_task_switch(struct vcpu *v, const struct vm_exit *e)
{
	struct task_switch ts;
	const uint32_t tr_ar = (uint32_t)vcpu_read(v, VCPU_TR_AR_BYTES);
	int r;

	memset(&ts, 0, sizeof(ts));
	ts.src = (enum task_source)e->task.source;
	ts.new_sel = e->task.selector;
	ts.old_sel = (uint16_t)vcpu_read(v, VCPU_TR_SELECTOR);
	if (ts.src == TASK_SRC_IDT_GATE && e->vectoring.valid) {
		/* The switch is this event's delivery: the backend did not queue it again. */
		ts.event = e->vectoring;
		/* EXT: an interrupt, NMI or hardware exception, not INT n / INT3 / INTO / INT1 (SDM Vol. 3A 6.13). */
		ts.ext = ts.event.type != EVENT_SOFT_INTERRUPT && ts.event.type != EVENT_SOFT_EXCEPTION &&
			 ts.event.type != EVENT_PRIV_SOFT_EXCEPTION;
	}
	if (v->guest_efer & EFER_LMA) {
		/* IA-32e mode has no task switching: the processor raises #GP itself (SDM 26.4.2). */
		return stop_unsupported(v, "task-switch exit in IA-32e mode");
	}
	if (!check_new_tss(v, &ts))
		return EXIT_RESUME;
	if (!task_tss_is_32bit(ts.new_tss_desc.type) || !task_tss_is_32bit(tr_ar & VMX_AR_TYPE_MASK))
		return stop_unsupported(v, "task switch with a 16-bit TSS: not emulated by this monitor");
	if (!sys_access(v, ts.new_tss_desc.base, &ts.tss, sizeof(ts.tss), false))
		return EXIT_RESUME;
	if (ts.tss.eflags & RFLAGS_VM)
		return stop_unsupported(v, "task switch to a virtual-8086 task (EFLAGS.VM = 1 in its TSS): not emulated");
	if (!save_old_task(v, &ts) || !link_and_mark(v, &ts))
		return EXIT_RESUME;

	/* Commit point, SDM Vol. 3A 7.3 step 9: TR now names the new task, whatever faults next. */
	load_segment(v, SEG_TR, ts.new_sel, ts.new_desc);
	log_debug("task switch (%s) from TSS %#x to TSS %#x, EIP %#x",
		  ts.src == TASK_SRC_CALL ? "CALL" : ts.src == TASK_SRC_IRET ? "IRET" : ts.src == TASK_SRC_JMP ? "JMP" : "IDT gate",
		  ts.old_sel, ts.new_sel, ts.tss.eip);

	/* Step 10 (SDM Vol. 3A 2.5): CR0.TS is set at every task switch. */
	r = cr_load_cr0(v, v->guest_cr0 | CR0_TS);
	if (r == EMULATE_FAULT)
		return stop_unsupported(v, "task switch: setting CR0.TS failed");
	if (r != EXIT_RESUME)
		return r;
	/* Step 12: EIP, EFLAGS, the general registers; CR3 when paging is on. */
	vcpu_write(v, VCPU_RIP, ts.tss.eip);
	vcpu_write(v, VCPU_RFLAGS, (ts.tss.eflags & ~RFLAGS_RESERVED_ZERO) | RFLAGS_RESERVED1);
	v->regs.rax = ts.tss.eax, v->regs.rcx = ts.tss.ecx, v->regs.rdx = ts.tss.edx, v->regs.rbx = ts.tss.ebx;
	v->regs.rbp = ts.tss.ebp, v->regs.rsi = ts.tss.esi, v->regs.rdi = ts.tss.edi;
	vcpu_write(v, VCPU_RSP, ts.tss.esp);
	vcpu_write(v, VCPU_INTERRUPTIBILITY_INFO,
		   vcpu_read(v, VCPU_INTERRUPTIBILITY_INFO) & ~(INTERRUPTIBILITY_STI | INTERRUPTIBILITY_MOV_SS));
	vcpu_write(v, VCPU_DR7, vcpu_read(v, VCPU_DR7) & ~DR7_LOCAL_ENABLES);
	if (v->guest_cr0 & CR0_PG) {
		r = cr_load_cr3(v, ts.tss.cr3);
		if (r == EMULATE_FAULT) {
			vcpu_inject_gp0(v); /* a CR3 (or PAE PDPTEs) MOV to CR3 would refuse */
			return EXIT_RESUME;
		}
		if (r != EXIT_RESUME)
			return r;
	}
	/* Step 13: LDTR and the segment descriptors, qualified in the new task's context. */
	if (!load_new_segments(v, &ts))
		return EXIT_RESUME;
	if (ts.ext && ts.event.has_error_code)
		push_error_code(v, ts.event.error_code);
	return EXIT_RESUME;
}
