/*
 * Descriptor-table exits (reasons 46 GDTR/IDTR access, 47 LDTR/TR access),
 * caused by "descriptor-table exiting".  The instruction is emulated from the
 * VM-exit instruction information (SDM Vol. 3C 28.2.5, Tables 28-10 and 28-11),
 * with the memory operand at the displacement given in the exit qualification.
 * The first LIDT is the moment the guest OS installs its trap handlers: logged.
 */
#include <arch/cr.h>
#include <arch/msr.h>
#include <arch/paging.h>
#include <arch/segment.h>
#include <arch/vmx_state.h>
#include "vmm/dtable_check.h"
#include "vmm/exits.h"
#include "vmm/operand.h"
#include "vmm/log.h"
#include "vmm/memory.h"
#include "vmm/status.h"

/* Instruction identities of the two exit reasons (SDM Tables 28-10, 28-11); the fields: vmm/vm_exit.h. */
enum { ID_SGDT = 0, ID_SIDT = 1, ID_LGDT = 2, ID_LIDT = 3 };  /* reason 46 */
enum { ID_SLDT = 0, ID_STR = 1, ID_LLDT = 2, ID_LTR = 3 };   /* reason 47 */

#define DESC_TYPE_BUSY_BIT  (1ull << 41) /* bit 1 of the type field: busy TSS */
#define BASE_24BIT_MASK     0xffffffull
#define LIMIT_GRANULE_SHIFT 12
#define LIMIT_GRANULE_FILL  0xfffu

static bool long_mode_64bit(struct vcpu *v)
{
	return vcpu_long64(v);
}

/* Effective linear address of the memory operand (SDM Vol. 1 3.7.5). */
static uint64_t operand_address(struct vcpu *v, const struct insn_operand *op)
{
	uint64_t gpr[16] = { 0 };
	if (op->base_valid)
		gpr[op->base] = vcpu_gpr_read(v, op->base);
	if (op->index_valid)
		gpr[op->index] = vcpu_gpr_read(v, op->index);
	uint64_t addr = exit_operand_offset(op, v->exit.dt.displacement, gpr);
	/* In 64-bit mode only FS and GS have a base (SDM Vol. 1 3.4.2.1). */
	if (!long_mode_64bit(v) || op->seg == SEG_FS || op->seg == SEG_GS)
		addr += vcpu_read(v, vcpu_seg_reg(op->seg, SEGF_BASE));
	return long_mode_64bit(v) ? addr : addr & 0xffffffffu;
}

#define SEG_NONE 7u

/*
 * A guest memory operand through segment seg.  A non-canonical address in 64-bit mode is
 * #SS(0) when the segment is SS (RSP/RBP-based operands) and #GP(0) otherwise (SDM Vol. 3A
 * 3.3.7.1 and the "64-Bit Mode Exceptions" of LGDT/LIDT/SGDT/SIDT/LLDT/LTR/SLDT/STR).
 */
static bool guest_access(struct vcpu *v, uint64_t gva, void *buf, uint64_t len, bool write, unsigned seg)
{
	uint64_t pf_addr;
	uint32_t pf_error;
	if (long_mode_64bit(v) && (!is_canonical(gva) || !is_canonical(gva + len - 1))) {
		if (seg == SEG_SS)
			vcpu_inject_exception(v, VECTOR_SS, true, 0);
		else
			vcpu_inject_gp0(v);
		return false;
	}
	int r = write ? vmm_guest_virt_write(v, gva, buf, len, &pf_addr, &pf_error)
		      : vmm_guest_virt_read(v, gva, buf, len, &pf_addr, &pf_error);
	if (r == GUEST_ACCESS_PAGE_FAULT)
		vcpu_inject_pf(v, pf_addr, pf_error);
	else if (r != GUEST_ACCESS_OK)
		vcpu_inject_gp0(v);
	return r == GUEST_ACCESS_OK;
}

static bool guest_read(struct vcpu *v, uint64_t gva, void *buf, uint64_t len, unsigned seg)
{
	return guest_access(v, gva, buf, len, false, seg);
}

static bool guest_write(struct vcpu *v, uint64_t gva, const void *buf, uint64_t len, unsigned seg)
{
	return guest_access(v, gva, (void *)buf, len, true, seg);
}

/*
 * Outside 64-bit mode: 32-bit operand size?  From the instruction's bytes (CS.D and a 0x66 prefix),
 * since Bochs 2.7 never sets the instruction information's operand-size bit; that bit if the bytes
 * cannot be read.
 */
static bool legacy_operand_32bit(struct vcpu *v, const struct insn_operand *op)
{
	uint8_t bytes[X86_INSN_MAX];
	const unsigned n = vmm_guest_fetch_instruction(v, bytes);
	const unsigned size = exit_dt_operand_bytes(bytes, n, (vcpu_read(v, VCPU_CS_AR_BYTES) & VMX_AR_DB) != 0);
	return size ? size == 4 : op->operand_32bit;
}

/* LGDT/LIDT/SGDT/SIDT: a 2-byte limit then a 4- or 8-byte base (SDM Vol. 2A LGDT/LIDT). */
static void gdtr_idtr_access(struct vcpu *v, const struct insn_operand *op)
{
	const unsigned id = op->identity;
	const bool is_idt = id == ID_SIDT || id == ID_LIDT;
	const enum vcpu_reg base_field = is_idt ? VCPU_IDTR_BASE : VCPU_GDTR_BASE;
	const enum vcpu_reg limit_field = is_idt ? VCPU_IDTR_LIMIT : VCPU_GDTR_LIMIT;
	const unsigned base_bytes = long_mode_64bit(v) ? 8 : 4;
	const uint64_t addr = operand_address(v, op);
	uint8_t mem[10] = { 0 };

	if (id == ID_LGDT || id == ID_LIDT) {
		uint64_t base = 0;
		uint16_t limit;
		if (!guest_read(v, addr, mem, 2 + base_bytes, op->seg))
			return;
		vcpu_note_data_access(v, addr, 2 + base_bytes, false);
		limit = (uint16_t)(mem[0] | mem[1] << 8);
		for (unsigned i = 0; i < base_bytes; i++)
			base |= (uint64_t)mem[2 + i] << (8 * i);
		if (!long_mode_64bit(v) && !legacy_operand_32bit(v, op))
			base &= BASE_24BIT_MASK; /* 16-bit operand size loads a 24-bit base */
		if (!is_canonical(base)) {
			vcpu_inject_gp0(v); /* SDM Vol. 2A LGDT/LIDT: #GP(0) for a non-canonical base in 64-bit mode */
			return;
		}
		vcpu_write(v, base_field, base);
		vcpu_write(v, limit_field, limit);
		if (is_idt && !v->guest_idt_logged++)
			log_info("guest installed its IDT at %#llx (limit %#x): its trap handlers are in place",
				 (unsigned long long)base, limit);
		else
			hv_log(is_idt || v->guest_gdt_logged++ ? HV_LOG_DEBUG : HV_LOG_INFO,
			       "guest loaded its %s at %#llx (limit %#x)", is_idt ? "IDT" : "GDT",
			       (unsigned long long)base, limit);
	} else {
		uint64_t base = vcpu_read(v, base_field);
		uint32_t limit = (uint32_t)vcpu_read(v, limit_field);
		mem[0] = (uint8_t)limit, mem[1] = (uint8_t)(limit >> 8);
		for (unsigned i = 0; i < base_bytes; i++)
			mem[2 + i] = (uint8_t)(base >> (8 * i));
		if (!guest_write(v, addr, mem, 2 + base_bytes, op->seg))
			return;
		vcpu_note_data_access(v, addr, 2 + base_bytes, true);
	}
	vcpu_skip_instruction(v);
}

/* Read a system-segment descriptor (16 bytes in IA-32e mode) from the guest's GDT; the selector is checked. */
static bool read_system_descriptor(struct vcpu *v, uint16_t sel, uint64_t desc[2], uint64_t *where)
{
	const bool ia32e = (v->guest_efer & EFER_LMA) != 0;
	desc[0] = desc[1] = 0;
	*where = vcpu_read(v, VCPU_GDTR_BASE) + (sel & SELECTOR_INDEX_MASK);
	return guest_read(v, *where, desc, ia32e ? 2 * sizeof(desc[0]) : sizeof(desc[0]), SEG_NONE);
}

static void load_segment(struct vcpu *v, enum vcpu_segment seg, uint16_t sel, const uint64_t desc[2], bool ia32e,
			 uint32_t ar)
{
	uint64_t base = dt_descriptor_base(desc, ia32e);
	uint32_t limit = (uint32_t)((desc[0] & 0xffffu) | (((desc[0] >> 48) & 0xfu) << 16));
	if (ar & VMX_AR_G)
		limit = (limit << LIMIT_GRANULE_SHIFT) | LIMIT_GRANULE_FILL;
	vcpu_write(v, vcpu_seg_reg(seg, SEGF_SELECTOR), sel);
	vcpu_write(v, vcpu_seg_reg(seg, SEGF_BASE), base);
	vcpu_write(v, vcpu_seg_reg(seg, SEGF_LIMIT), limit);
	vcpu_write(v, vcpu_seg_reg(seg, SEGF_AR_BYTES), ar);
}

/* Access rights in VMCS format from a descriptor: access byte and flags nibble (SDM 25.4.1). */
static uint32_t descriptor_ar(uint64_t d)
{
	return (uint32_t)(((d >> 40) & 0xffu) | (((d >> 52) & 0xfu) << 12));
}

static bool store_selector(struct vcpu *v, uint64_t addr, uint16_t sel, unsigned seg)
{
	if (!guest_write(v, addr, &sel, sizeof(sel), seg))
		return false;
	vcpu_note_data_access(v, addr, sizeof(sel), true);
	return true;
}

/* LLDT / LTR with a selector: the checks of vmm/exit/dtable_check.c, then the load. */
static void load_ldtr_tr(struct vcpu *v, enum dt_load op, uint16_t sel)
{
	const bool ia32e = (v->guest_efer & EFER_LMA) != 0;
	struct dt_fault f;
	uint64_t desc[2], where = 0;

	enum dt_verdict verdict = dt_check_selector(op, sel, (uint32_t)vcpu_read(v, VCPU_GDTR_LIMIT), ia32e, &f);
	if (verdict == DT_NULL_LDT) {
		vcpu_write(v, VCPU_LDTR_SELECTOR, sel);
		vcpu_write(v, VCPU_LDTR_AR_BYTES, VMX_AR_UNUSABLE); /* a null selector leaves LDTR unusable */
		vcpu_skip_instruction(v);
		return;
	}
	if (verdict == DT_OK) {
		if (!read_system_descriptor(v, sel, desc, &where))
			return;
		verdict = dt_check_descriptor(op, sel, desc, ia32e, &f);
	}
	if (verdict == DT_FAULT) {
		vcpu_inject_exception(v, f.vector, true, f.error_code);
		return;
	}
	if (op == DT_LOAD_LLDT) {
		load_segment(v, SEG_LDTR, sel, desc, ia32e, descriptor_ar(desc[0]));
	} else {
		/* LTR marks the descriptor busy in the guest's GDT, as the CPU does (SDM Vol. 2A LTR). */
		desc[0] |= DESC_TYPE_BUSY_BIT;
		if (!guest_write(v, where, &desc[0], sizeof(desc[0]), SEG_NONE))
			return;
		load_segment(v, SEG_TR, sel, desc, ia32e, descriptor_ar(desc[0]));
		log_debug("guest loaded its task register: selector %#x", sel);
	}
	vcpu_skip_instruction(v);
}

static void ldtr_tr_access(struct vcpu *v, const struct insn_operand *op)
{
	const unsigned id = op->identity;
	uint16_t sel = 0;

	if (id == ID_SLDT || id == ID_STR) {
		sel = (uint16_t)vcpu_read(v, id == ID_SLDT ? VCPU_LDTR_SELECTOR : VCPU_TR_SELECTOR);
		if (op->is_register)
			vcpu_gpr_write(v, op->reg, sel);
		else if (!store_selector(v, operand_address(v, op), sel, op->seg))
			return;
		vcpu_skip_instruction(v);
		return;
	}
	if (op->is_register) {
		sel = (uint16_t)vcpu_gpr_read(v, op->reg);
	} else {
		const uint64_t addr = operand_address(v, op);
		if (!guest_read(v, addr, &sel, sizeof(sel), op->seg))
			return;
		vcpu_note_data_access(v, addr, sizeof(sel), false);
	}
	load_ldtr_tr(v, id == ID_LLDT ? DT_LOAD_LLDT : DT_LOAD_LTR, sel);
}

int handle_descriptor_table(struct vcpu *v, const struct vm_exit *e)
{
	if (e->dt.ldtr_tr)
		ldtr_tr_access(v, &e->dt.op);
	else
		gdtr_idtr_access(v, &e->dt.op);
	return EXIT_RESUME;
}
