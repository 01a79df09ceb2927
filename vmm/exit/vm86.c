/*
 * An application processor's real-mode start without unrestricted guest (shadow paging): the
 * backend runs it in virtual-8086 mode (vmm/vmx/vmcs_setup.c, START_REAL_MODE_SIPI), where the
 * privileged instructions of a start-up trampoline fault with #GP (CPL 3, SDM Vol. 3A 20.2.7)
 * and exit here.  Each is decoded (vmm/dev/realmode_decode.c) and emulated on the real-mode state
 * the guest sees; CLI, STI, PUSHF and POPF run natively (IOPL 3), I/O exits on its own (the TSS's
 * I/O bitmap allows every port).  When the guest sets CR0.PE the vCPU leaves virtual-8086 mode
 * for 16-bit protected mode with the same segments, and the next far jump loads the guest's own
 * descriptors natively.  Any other exception in virtual-8086 mode stops the VM with a report:
 * real-mode interrupts and exceptions (the vector table at 0) are not emulated.
 */
#include <string.h>
#include <arch/cr.h>
#include <arch/segment.h>
#include <arch/vmx_state.h>
#include "vmm/backend.h"
#include "vmm/cpu.h"
#include "vmm/exits.h"
#include "vmm/format.h"
#include "vmm/log.h"
#include "vmm/memory.h"
#include "vmm/realmode_decode.h"
#include "vmm/status.h"
#include "vmm/vcpu.h"

_Static_assert((int)RM_SEG_ES == (int)SEG_ES && (int)RM_SEG_CS == (int)SEG_CS && (int)RM_SEG_SS == (int)SEG_SS &&
		       (int)RM_SEG_DS == (int)SEG_DS && (int)RM_SEG_FS == (int)SEG_FS && (int)RM_SEG_GS == (int)SEG_GS,
	       "the decoder numbers segments as the vCPU does (the SDM's sreg field)");

#define REAL_MODE_OFFSET_MASK  0xffffu /* IP and 16-bit offsets wrap at 64 KiB */
#define REAL_MODE_SEGMENT_SHIFT 4
#define DESC_TABLE_LIMIT_BYTES 2       /* LGDT/LIDT: a 16-bit limit, then the base (SDM Vol. 2A LGDT) */
#define BASE_24_MASK           0xffffffu
#define MSW_MASK               0xfu    /* LMSW loads PE, MP, EM, TS (SDM Vol. 2A LMSW) */
/* Protected mode with the real-mode segments: 16-bit code and data, DPL 0, 64 KiB (SDM 10.9.1). */
#define PM16_CODE_AR (SEG_TYPE_CODE_XR_ACCESSED | VMX_AR_S | VMX_AR_P)
#define PM16_DATA_AR (SEG_TYPE_DATA_RW_ACCESSED | VMX_AR_S | VMX_AR_P)

static uint64_t ip_linear(struct vcpu *v)
{
	return vcpu_read(v, VCPU_CS_BASE) + (vcpu_read(v, VCPU_RIP) & REAL_MODE_OFFSET_MASK);
}

static void advance(struct vcpu *v, unsigned len)
{
	vcpu_write(v, VCPU_RIP, (vcpu_read(v, VCPU_RIP) + len) & REAL_MODE_OFFSET_MASK);
}

static __attribute__((cold)) int stop(struct vcpu *v, const char *what)
{
	log_error("vCPU %u in virtual-8086 mode (its real-mode start under shadow paging) at %04llx:%04llx: %s",
		  v->id, (unsigned long long)vcpu_read(v, VCPU_CS_SELECTOR),
		  (unsigned long long)(vcpu_read(v, VCPU_RIP) & REAL_MODE_OFFSET_MASK), what);
	return exit_report_and_stop(v, HV_ERR_GUEST_FAULT,
				    "the monitor runs real mode in virtual-8086 mode without unrestricted guest and emulates "
				    "only the privileged instructions of a start-up trampoline (use mem=ept for more)");
}

/* Paging is off in real mode: linear = guest-physical. */
static bool read_linear(struct vcpu *v, uint64_t linear, void *buf, unsigned len)
{
	return vmm_guest_phys_read(v->mem, linear, buf, len) == 0;
}

static bool write_linear(struct vcpu *v, uint64_t linear, const void *buf, unsigned len)
{
	return vmm_guest_phys_write(v->mem, linear, buf, len) == 0;
}

static uint64_t operand_linear(struct vcpu *v, const struct rm_insn *in)
{
	return vcpu_read(v, vcpu_seg_reg(in->seg, SEGF_BASE)) + in->offset;
}

/*
 * CR0.PE set: leave virtual-8086 mode for 16-bit protected mode with the same selectors and bases
 * (SDM 10.9.1: the segment registers keep their real-mode contents until reloaded), CPL 0, the
 * guest's IOPL (0) and the usual exception bitmap.  A selector with a nonzero RPL keeps its
 * descriptor's DPL at 3 where VM entry allows it (data), so that the checks of SDM 27.3.1.2 hold.
 */
static void leave_vm86(struct vcpu *v)
{
	for (unsigned s = SEG_ES; s < SEG_COUNT; s++) {
		const uint64_t sel = vcpu_read(v, vcpu_seg_reg(s, SEGF_SELECTOR));
		uint32_t ar = s == SEG_CS ? PM16_CODE_AR : PM16_DATA_AR;
		if (s != SEG_CS && s != SEG_SS && (sel & SELECTOR_RPL_MASK))
			ar |= SELECTOR_RPL_MASK << VMX_AR_DPL_SHIFT;
		vcpu_write(v, vcpu_seg_reg(s, SEGF_BASE), sel << REAL_MODE_SEGMENT_SHIFT);
		vcpu_write(v, vcpu_seg_reg(s, SEGF_LIMIT), REAL_MODE_OFFSET_MASK);
		vcpu_write(v, vcpu_seg_reg(s, SEGF_AR_BYTES), ar);
	}
	vcpu_write(v, VCPU_RFLAGS, vcpu_read(v, VCPU_RFLAGS) & ~(RFLAGS_VM | RFLAGS_IOPL3));
	v->vm86 = false;
	backend_vm86_done(v);
	v->lapic.events_changed = true; /* events waited for CR0.PE (vmm/vmx/inject.c) */
	log_info("vCPU %u: CR0.PE set at %04llx:%04llx: from virtual-8086 mode to 16-bit protected mode", v->id,
		 (unsigned long long)vcpu_read(v, VCPU_CS_SELECTOR),
		 (unsigned long long)(vcpu_read(v, VCPU_RIP) & REAL_MODE_OFFSET_MASK));
}

/* A new CR0 from MOV or LMSW: the shadows as for any MOV to CR0, then out of virtual-8086 mode if PE. */
static int load_cr0(struct vcpu *v, uint64_t value, unsigned len)
{
	const int r = cr_load_cr0(v, value);
	if (r == EMULATE_FAULT)
		return stop(v, "a MOV to CR0 that faults (#GP) in real mode");
	if (r != EXIT_RESUME)
		return r;
	advance(v, len);
	if (value & CR0_PE)
		leave_vm86(v);
	return EXIT_RESUME;
}

static int emulate(struct vcpu *v, const struct rm_insn *in)
{
	switch (in->op) {
	case RM_LGDT:
	case RM_LIDT: {
		uint8_t b[DESC_TABLE_LIMIT_BYTES + sizeof(uint32_t)];
		uint16_t limit;
		uint32_t base;
		if (!read_linear(v, operand_linear(v, in), b, sizeof(b)))
			return stop(v, "LGDT/LIDT operand outside guest RAM");
		memcpy(&limit, b, sizeof(limit));
		memcpy(&base, b + DESC_TABLE_LIMIT_BYTES, sizeof(base));
		if (in->base_bits != 32)
			base &= BASE_24_MASK;
		vcpu_write(v, in->op == RM_LGDT ? VCPU_GDTR_BASE : VCPU_IDTR_BASE, base);
		vcpu_write(v, in->op == RM_LGDT ? VCPU_GDTR_LIMIT : VCPU_IDTR_LIMIT, limit);
		break;
	}
	case RM_SGDT:
	case RM_SIDT: {
		uint8_t b[DESC_TABLE_LIMIT_BYTES + sizeof(uint32_t)];
		const uint16_t limit = (uint16_t)vcpu_read(v, in->op == RM_SGDT ? VCPU_GDTR_LIMIT : VCPU_IDTR_LIMIT);
		const uint32_t base = (uint32_t)vcpu_read(v, in->op == RM_SGDT ? VCPU_GDTR_BASE : VCPU_IDTR_BASE);
		memcpy(b, &limit, sizeof(limit));
		memcpy(b + DESC_TABLE_LIMIT_BYTES, &base, sizeof(base));
		if (!write_linear(v, operand_linear(v, in), b, sizeof(b)))
			return stop(v, "SGDT/SIDT operand outside guest RAM");
		break;
	}
	case RM_MOV_FROM_CR: {
		const uint64_t value = in->ctl_reg == 0 ? v->guest_cr0 : in->ctl_reg == 3 ? v->guest_cr3
				     : in->ctl_reg == 4 ? v->guest_cr4 : 0 /* CR2: no page fault yet in real mode */;
		vcpu_gpr_write(v, in->gpr, (uint32_t)value);
		break;
	}
	case RM_MOV_TO_CR: {
		const uint64_t value = (uint32_t)vcpu_gpr_read(v, in->gpr);
		if (in->ctl_reg == 0)
			return load_cr0(v, value, in->len);
		const int r = in->ctl_reg == 3 ? cr_load_cr3(v, value) : in->ctl_reg == 4 ? cr_load_cr4(v, value) : EXIT_RESUME;
		if (r == EMULATE_FAULT)
			return stop(v, "a MOV to CR3/CR4 that faults (#GP) in real mode");
		if (r != EXIT_RESUME)
			return r;
		break;
	}
	case RM_LMSW: {
		uint16_t msw;
		if (in->has_gpr)
			msw = (uint16_t)vcpu_gpr_read(v, in->gpr);
		else if (!read_linear(v, operand_linear(v, in), &msw, sizeof(msw)))
			return stop(v, "LMSW operand outside guest RAM");
		/* LMSW sets PE but never clears it (SDM Vol. 2A LMSW). */
		return load_cr0(v, (v->guest_cr0 & ~(uint64_t)(MSW_MASK & ~CR0_PE)) | (msw & MSW_MASK), in->len);
	}
	case RM_CLTS:
		return load_cr0(v, v->guest_cr0 & ~CR0_TS, in->len);
	case RM_WBINVD:
	case RM_INVD:
		break; /* guest RAM is ordinary write-back memory (as handle_cache_flush) */
	case RM_RDMSR:
	case RM_WRMSR:
	case RM_HLT: {
		/* The instruction's own exit handler, on an exit record that says what it is. */
		struct vm_exit *e = &v->exit;
		e->kind = in->op == RM_RDMSR ? EXIT_RDMSR : in->op == RM_WRMSR ? EXIT_WRMSR : EXIT_HLT;
		e->insn_len = in->len;
		e->msr = (uint32_t)v->regs.rcx;
		return in->op == RM_RDMSR ? handle_rdmsr(v, e) : in->op == RM_WRMSR ? handle_wrmsr(v, e) : handle_hlt(v, e);
	}
	default: {
		char text[64], what[128];
		rm_insn_format(in, text, sizeof(text));
		hv_snprintf(what, sizeof(what), "%s, which the monitor does not emulate there", text);
		return stop(v, what);
	}
	}
	advance(v, in->len);
	return EXIT_RESUME;
}

int vm86_exception(struct vcpu *v, const struct vm_exit *e)
{
	const unsigned vector = e->intr.event.vector;
	if (vector != VECTOR_GP) {
		log_error("vCPU %u: exception %s (vector %u) in virtual-8086 mode", v->id, exception_name(vector), vector);
		return stop(v, "an exception in the real-mode start code");
	}
	uint8_t code[RM_INSN_MAX];
	const uint64_t ip = ip_linear(v);
	unsigned avail = RM_INSN_MAX;
	while (avail && !read_linear(v, ip, code, avail))
		avail--; /* the end of guest RAM: fetch what there is */
	struct rm_regs regs;
	for (unsigned r = 0; r < RM_GPR_COUNT; r++)
		regs.gpr[r] = (uint32_t)vcpu_gpr_read(v, r);
	struct rm_insn in;
	char why[160];
	if (rm_decode(code, avail, &regs, &in, why, sizeof(why)) != 0)
		return stop(v, why);
	return emulate(v, &in);
}
