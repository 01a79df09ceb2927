/*
 * Decoder of the privileged and I/O instructions of 16-bit code (SDM Vol. 2A chapter 2: instruction
 * format, ModRM and SIB; Vol. 2B/2C instruction pages; Vol. 2D appendix A: opcode maps).
 */
#include <stdarg.h>
#include "vmm/format.h"
#include "vmm/realmode_decode.h"

/* Prefixes (SDM Vol. 2A 2.1.1). */
#define PFX_LOCK         0xf0u
#define PFX_REPNE        0xf2u
#define PFX_REP          0xf3u
#define PFX_OPERAND_SIZE 0x66u
#define PFX_ADDRESS_SIZE 0x67u
#define PFX_ES           0x26u
#define PFX_CS           0x2eu
#define PFX_SS           0x36u
#define PFX_DS           0x3eu
#define PFX_FS           0x64u
#define PFX_GS           0x65u

/* One-byte opcodes (SDM Vol. 2D Table A-2; Vol. 2A HLT, IN, INS; Vol. 2B OUT, OUTS). */
#define OP_TWO_BYTE      0x0fu /* escape to the two-byte map (Vol. 2A 2.1.2) */
#define OP_INSB          0x6cu /* INS m8, DX */
#define OP_INSW          0x6du /* INS m16/m32, DX */
#define OP_OUTSB         0x6eu /* OUTS DX, m8 */
#define OP_OUTSW         0x6fu /* OUTS DX, m16/m32 */
#define OP_IN_AL_IMM8    0xe4u
#define OP_IN_EAX_IMM8   0xe5u /* AX or EAX */
#define OP_OUT_IMM8_AL   0xe6u
#define OP_OUT_IMM8_EAX  0xe7u
#define OP_IN_AL_DX      0xecu
#define OP_IN_EAX_DX     0xedu
#define OP_OUT_DX_AL     0xeeu
#define OP_OUT_DX_EAX    0xefu
#define OP_HLT           0xf4u

/* Two-byte opcodes, the byte after 0F (SDM Vol. 2D Table A-3). */
#define OP2_GROUP7       0x01u /* Group 7: ModRM.reg selects (Vol. 2D Table A-6) */
#define OP2_CLTS         0x06u
#define OP2_INVD         0x08u
#define OP2_WBINVD       0x09u
#define OP2_MOV_FROM_CR  0x20u /* MOV r32, CR0-CR7 */
#define OP2_MOV_FROM_DR  0x21u /* MOV r32, DR0-DR7 */
#define OP2_MOV_TO_CR    0x22u /* MOV CR0-CR7, r32 */
#define OP2_MOV_TO_DR    0x23u /* MOV DR0-DR7, r32 */
#define OP2_WRMSR        0x30u
#define OP2_RDMSR        0x32u
#define OP2_CPUID        0xa2u

/* Group 7 (0F 01) with a memory operand: ModRM.reg (SDM Vol. 2D Table A-6). */
#define G7_SGDT          0u
#define G7_SIDT          1u
#define G7_LGDT          2u
#define G7_LIDT          3u
#define G7_SMSW          4u
#define G7_LMSW          6u
#define G7_INVLPG        7u
#define G7_FORMS         8u

/* ModRM and SIB fields (SDM Vol. 2A 2.1.5, Tables 2-1 to 2-3). */
#define MODRM_MOD(m)     ((unsigned)(m) >> 6)
#define MODRM_REG(m)     (((unsigned)(m) >> 3) & 7u)
#define MODRM_RM(m)      ((unsigned)(m) & 7u)
#define MOD_NO_DISP      0u
#define MOD_DISP8        1u
#define MOD_DISP_FULL    2u /* disp16 with 16-bit addressing, disp32 with 32-bit */
#define MOD_REGISTER     3u
#define RM16_DISP16      6u /* 16-bit addressing, mod 0: [disp16] instead of [BP] */
#define RM32_SIB         4u /* 32-bit addressing: a SIB byte follows */
#define RM32_DISP32      5u /* 32-bit addressing, mod 0: [disp32] instead of [EBP] */
#define SIB_SCALE(s)     ((unsigned)(s) >> 6) /* log2 of the index's multiplier */
#define SIB_INDEX(s)     (((unsigned)(s) >> 3) & 7u)
#define SIB_BASE(s)      ((unsigned)(s) & 7u)
#define SIB_INDEX_NONE   4u /* no index (ESP cannot be one) */
#define SIB_BASE_NONE    5u /* with mod 0: no base, disp32 */

/* Control registers MOV accepts outside 64-bit mode (SDM Vol. 2B MOV-Move to/from Control Registers:
 * CR1 and CR5-CR7 are reserved (#UD); CR8 needs REX.R, which only 64-bit mode has). */
#define CR_USABLE        ((1u << 0) | (1u << 2) | (1u << 3) | (1u << 4))

/* Sizes, in bits and bytes. */
#define BITS16           16u
#define BITS32           32u
#define BITS_PER_BYTE    8u
#define BYTE             1u
#define WORD             2u
#define DWORD            4u
#define DTR_OPERAND      6u  /* LGDT/LIDT/SGDT/SIDT: 2-byte limit, 4-byte base (SDM Vol. 2A LGDT) */
#define DTR_BASE_BITS16  24u /* LGDT/LIDT with a 16-bit operand size load a 24-bit base */
#define DTR_BASE_BITS32  32u
#define OFFSET16_MASK    0xffffu
#define NO_REG           0xffu

static const char *const op_names[RM_OP_COUNT] = {
#define RM_OP_NAME(name, mnemonic) [RM_##name] = mnemonic,
	RM_OPS(RM_OP_NAME)
#undef RM_OP_NAME
};

static const char *const seg_names[RM_SEG_COUNT] = { "es", "cs", "ss", "ds", "fs", "gs" };
static const char *const gpr32_names[RM_GPR_COUNT] = { "eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi" };
static const char *const gpr16_names[RM_GPR_COUNT] = { "ax", "cx", "dx", "bx", "sp", "bp", "si", "di" };

const char *rm_op_name(enum rm_op op)
{
	return (unsigned)op < RM_OP_COUNT ? op_names[op] : "?";
}

const char *rm_seg_name(unsigned seg)
{
	return seg < RM_SEG_COUNT ? seg_names[seg] : "?";
}

/* The eight 16-bit r/m forms (SDM Vol. 2A Table 2-1): base + index + displacement, default segment
 * SS for the BP-based ones (Vol. 1 3.7.5), and [disp16] in place of [BP] with mod 0. */
static const struct {
	uint8_t base, index, seg;
} ea16_forms[8] = {
	{ RM_EBX, RM_ESI, RM_SEG_DS }, /* [BX+SI] */
	{ RM_EBX, RM_EDI, RM_SEG_DS }, /* [BX+DI] */
	{ RM_EBP, RM_ESI, RM_SEG_SS }, /* [BP+SI] */
	{ RM_EBP, RM_EDI, RM_SEG_SS }, /* [BP+DI] */
	{ RM_ESI, NO_REG, RM_SEG_DS }, /* [SI] */
	{ RM_EDI, NO_REG, RM_SEG_DS }, /* [DI] */
	{ RM_EBP, NO_REG, RM_SEG_SS }, /* [BP]; [disp16] with mod 0 */
	{ RM_EBX, NO_REG, RM_SEG_DS }, /* [BX] */
};

/* Group 7's forms this decoder knows: the operation, and whether it takes memory only. */
static const struct {
	bool known, mem_only;
	enum rm_op op;
} group7[G7_FORMS] = {
	[G7_SGDT] = { true, true, RM_SGDT },   [G7_SIDT] = { true, true, RM_SIDT },
	[G7_LGDT] = { true, true, RM_LGDT },   [G7_LIDT] = { true, true, RM_LIDT },
	[G7_SMSW] = { true, false, RM_SMSW },  [G7_LMSW] = { true, false, RM_LMSW },
	[G7_INVLPG] = { true, true, RM_INVLPG },
};

/* Text appended to a buffer with snprintf semantics: pos counts what would have been written. */
struct text {
	char *buf;
	size_t len, pos;
};

static void put(struct text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
	const size_t room = t->pos < t->len ? t->len - t->pos : 0;
	va_list ap;
	va_start(ap, fmt);
	const int n = hv_vsnprintf(room ? t->buf + t->pos : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		t->pos += (size_t)n;
}

static void put_hex(struct text *t, const uint8_t *b, unsigned n)
{
	for (unsigned k = 0; k < n; k++)
		put(t, k ? " %02x" : "%02x", b[k]);
}

/* The decoder's state: the bytes, how far it has read, the prefixes, and where its reasons go. */
struct dec {
	const uint8_t *b;
	unsigned avail; /* readable bytes, at most RM_INSN_MAX */
	unsigned i;     /* next byte */
	unsigned prefixes; /* how many of the first bytes are prefixes */
	bool o32, a32, lock, rep, repne;
	int seg_override; /* enum rm_seg, or -1 */
	bool have_op;      /* op is known (for the truncation message) */
	enum rm_op op;
	struct text why;
};

/* Fails with "<the bytes read so far>: <reason>". */
static int refuse(struct dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct dec *d, const char *fmt, ...)
{
	struct text *t = &d->why;
	t->pos = 0;
	put_hex(t, d->b, d->i);
	put(t, ": ");
	const size_t room = t->pos < t->len ? t->len - t->pos : 0;
	va_list ap;
	va_start(ap, fmt);
	hv_vsnprintf(room ? t->buf + t->pos : NULL, room, fmt, ap);
	va_end(ap);
	return -1;
}

/* An opcode outside this decoder's list, named by its bytes (the escape 0F included) and prefixes. */
static int unknown_opcode(struct dec *d)
{
	struct text *t = &d->why;
	t->pos = 0;
	put(t, "opcode ");
	put_hex(t, d->b + d->prefixes, d->i - d->prefixes);
	if (d->prefixes) {
		put(t, " (after ");
		put_hex(t, d->b, d->prefixes);
		put(t, ")");
	}
	put(t, " is not a privileged instruction this decoder knows");
	return -1;
}

/* Byte d->i must exist: within the instruction's 15 and within what was fetched. */
static int need(struct dec *d)
{
	if (d->i < d->avail)
		return 0;
	struct text *t = &d->why;
	t->pos = 0;
	if (d->i >= RM_INSN_MAX) {
		put_hex(t, d->b, d->i);
		put(t, ": longer than %u bytes, which is #GP (SDM Vol. 2A 2.3.11)", RM_INSN_MAX);
		return -1;
	}
	put(t, "truncated: %u byte%s", d->i, d->i == 1 ? "" : "s");
	if (d->i) {
		put(t, " (");
		put_hex(t, d->b, d->i);
		if (d->have_op)
			put(t, "), inside %s", op_names[d->op]);
		else if (d->i == d->prefixes)
			put(t, "), before the opcode");
		else
			put(t, "), inside the opcode");
	}
	return -1;
}

static int take(struct dec *d, uint8_t *v)
{
	if (need(d))
		return -1;
	*v = d->b[d->i++];
	return 0;
}

/* A little-endian displacement of `bytes` bytes, sign-extended to 32 bits. */
static int take_disp(struct dec *d, unsigned bytes, uint32_t *disp)
{
	uint32_t v = 0;
	for (unsigned k = 0; k < bytes; k++) {
		uint8_t x;
		if (take(d, &x))
			return -1;
		v |= (uint32_t)x << (BITS_PER_BYTE * k);
	}
	const unsigned bits = BITS_PER_BYTE * bytes;
	if (bits < BITS32 && (v >> (bits - 1)) & 1u)
		v |= ~0u << bits;
	*disp = v;
	return 0;
}

static int seg_of_prefix(uint8_t b)
{
	switch (b) {
	case PFX_ES: return RM_SEG_ES;
	case PFX_CS: return RM_SEG_CS;
	case PFX_SS: return RM_SEG_SS;
	case PFX_DS: return RM_SEG_DS;
	case PFX_FS: return RM_SEG_FS;
	case PFX_GS: return RM_SEG_GS;
	default: return -1;
	}
}

/* The prefixes, then the first opcode byte (SDM Vol. 2A 2.1.1: any order; the last override wins). */
static int take_prefixes_and_opcode(struct dec *d, uint8_t *opcode)
{
	for (;;) {
		uint8_t b;
		if (take(d, &b))
			return -1;
		const int seg = seg_of_prefix(b);
		if (seg >= 0)
			d->seg_override = seg;
		else if (b == PFX_OPERAND_SIZE)
			d->o32 = true;
		else if (b == PFX_ADDRESS_SIZE)
			d->a32 = true;
		else if (b == PFX_LOCK)
			d->lock = true;
		else if (b == PFX_REP)
			d->rep = true;
		else if (b == PFX_REPNE)
			d->repne = true;
		else {
			*opcode = b;
			return 0;
		}
		d->prefixes = d->i;
	}
}

/* The memory operand of ModRM byte `modrm` (mod != 3) and the SIB and displacement after it. */
static int decode_mem(struct dec *d, uint8_t modrm, const struct rm_regs *regs, struct rm_insn *out)
{
	const unsigned mod = MODRM_MOD(modrm), rm = MODRM_RM(modrm);
	uint32_t disp = 0, off = 0;
	unsigned seg;
	if (!d->a32) {
		if (mod == MOD_NO_DISP && rm == RM16_DISP16) {
			seg = RM_SEG_DS;
			if (take_disp(d, WORD, &disp))
				return -1;
		} else {
			off = regs->gpr[ea16_forms[rm].base];
			if (ea16_forms[rm].index != NO_REG)
				off += regs->gpr[ea16_forms[rm].index];
			seg = ea16_forms[rm].seg;
			if (mod != MOD_NO_DISP && take_disp(d, mod == MOD_DISP8 ? BYTE : WORD, &disp))
				return -1;
		}
		off = (off + disp) & OFFSET16_MASK; /* 16-bit addressing wraps at 64 KiB */
	} else {
		unsigned base = rm;
		seg = RM_SEG_DS;
		if (rm == RM32_SIB) {
			uint8_t sib;
			if (take(d, &sib))
				return -1;
			base = SIB_BASE(sib);
			if (SIB_INDEX(sib) != SIB_INDEX_NONE)
				off = regs->gpr[SIB_INDEX(sib)] << SIB_SCALE(sib);
			if (mod == MOD_NO_DISP && base == SIB_BASE_NONE)
				base = NO_REG;
		} else if (mod == MOD_NO_DISP && rm == RM32_DISP32) {
			base = NO_REG;
		}
		if (base != NO_REG) {
			off += regs->gpr[base];
			if (base == RM_ESP || base == RM_EBP)
				seg = RM_SEG_SS; /* SDM Vol. 1 3.7.5: ESP or EBP as base */
		}
		const unsigned disp_bytes = mod == MOD_DISP8 ? BYTE : mod == MOD_DISP_FULL || base == NO_REG ? DWORD : 0;
		if (disp_bytes && take_disp(d, disp_bytes, &disp))
			return -1;
		off += disp;
	}
	out->has_mem = true;
	out->seg = (uint8_t)(d->seg_override >= 0 ? (unsigned)d->seg_override : seg);
	out->offset = off;
	return 0;
}

static int decode_group7(struct dec *d, const struct rm_regs *regs, struct rm_insn *out)
{
	uint8_t modrm;
	if (take(d, &modrm))
		return -1;
	const unsigned reg = MODRM_REG(modrm);
	if (!group7[reg].known)
		return refuse(d, "0f 01 /%u is not a privileged instruction this decoder knows", reg);
	d->op = out->op = group7[reg].op;
	d->have_op = true;
	if (MODRM_MOD(modrm) == MOD_REGISTER) {
		if (group7[reg].mem_only)
			return refuse(d, "%s needs a memory operand: with mod 3, 0f 01 %02x is another instruction or "
					 "#UD (SDM Vol. 2D Table A-6)", op_names[out->op], modrm);
		out->has_gpr = true;
		out->gpr = (uint8_t)MODRM_RM(modrm);
	} else if (decode_mem(d, modrm, regs, out)) {
		return -1;
	}
	switch (out->op) {
	case RM_LGDT:
	case RM_LIDT:
		out->access_bytes = DTR_OPERAND;
		out->base_bits = d->o32 ? DTR_BASE_BITS32 : DTR_BASE_BITS16;
		break;
	case RM_SGDT:
	case RM_SIDT:
		out->access_bytes = DTR_OPERAND;
		out->base_bits = DTR_BASE_BITS32;
		break;
	case RM_SMSW: /* r/m16, or r32 with a 32-bit operand size (SDM Vol. 2B SMSW) */
		out->access_bytes = out->has_gpr && d->o32 ? DWORD : WORD;
		break;
	case RM_LMSW:
		out->access_bytes = WORD;
		break;
	default: /* INVLPG: an address, no access */
		break;
	}
	return 0;
}

/* MOV to or from a control or debug register: ModRM.reg is the CR/DR, ModRM.rm the GPR, and mod is
 * ignored (SDM Vol. 2B MOV-Move to/from Control Registers, Debug Registers). */
static int decode_mov_crdr(struct dec *d, enum rm_op op, struct rm_insn *out)
{
	uint8_t modrm;
	d->op = out->op = op;
	d->have_op = true;
	if (take(d, &modrm))
		return -1;
	const unsigned n = MODRM_REG(modrm);
	if ((op == RM_MOV_FROM_CR || op == RM_MOV_TO_CR) && !(CR_USABLE & (1u << n)))
		return refuse(d, "mov %s cr%u is #UD: CR1 and CR5-CR7 are reserved, CR8 needs REX.R (64-bit mode) "
				 "(SDM Vol. 2B MOV-Move to/from Control Registers)",
			      op == RM_MOV_TO_CR ? "to" : "from", n);
	out->ctl_reg = (uint8_t)n;
	out->has_gpr = true;
	out->gpr = (uint8_t)MODRM_RM(modrm);
	out->access_bytes = DWORD;
	return 0;
}

static int decode_two_byte(struct dec *d, const struct rm_regs *regs, struct rm_insn *out)
{
	uint8_t op2;
	if (take(d, &op2))
		return -1;
	switch (op2) {
	case OP2_GROUP7: return decode_group7(d, regs, out);
	case OP2_MOV_FROM_CR: return decode_mov_crdr(d, RM_MOV_FROM_CR, out);
	case OP2_MOV_FROM_DR: return decode_mov_crdr(d, RM_MOV_FROM_DR, out);
	case OP2_MOV_TO_CR: return decode_mov_crdr(d, RM_MOV_TO_CR, out);
	case OP2_MOV_TO_DR: return decode_mov_crdr(d, RM_MOV_TO_DR, out);
	case OP2_CLTS: out->op = RM_CLTS; return 0;
	case OP2_INVD: out->op = RM_INVD; return 0;
	case OP2_WBINVD: out->op = RM_WBINVD; return 0;
	case OP2_WRMSR: out->op = RM_WRMSR; return 0;
	case OP2_RDMSR: out->op = RM_RDMSR; return 0;
	case OP2_CPUID: out->op = RM_CPUID; return 0;
	default: return unknown_opcode(d);
	}
}

/* IN/OUT with an imm8 or DX port, and INS/OUTS. */
static int decode_io(struct dec *d, uint8_t opcode, const struct rm_regs *regs, struct rm_insn *out)
{
	const unsigned wide = d->o32 ? DWORD : WORD;
	switch (opcode) {
	case OP_IN_AL_IMM8: case OP_IN_AL_DX: case OP_INSB:
	case OP_OUT_IMM8_AL: case OP_OUT_DX_AL: case OP_OUTSB:
		out->access_bytes = BYTE;
		break;
	default:
		out->access_bytes = (uint8_t)wide;
		break;
	}
	switch (opcode) {
	case OP_IN_AL_IMM8: case OP_IN_EAX_IMM8: case OP_IN_AL_DX: case OP_IN_EAX_DX:
		out->op = RM_IN;
		break;
	case OP_OUT_IMM8_AL: case OP_OUT_IMM8_EAX: case OP_OUT_DX_AL: case OP_OUT_DX_EAX:
		out->op = RM_OUT;
		break;
	case OP_INSB: case OP_INSW:
		out->op = RM_INS;
		break;
	default:
		out->op = RM_OUTS;
		break;
	}
	d->op = out->op;
	d->have_op = true;
	switch (opcode) {
	case OP_IN_AL_IMM8: case OP_IN_EAX_IMM8: case OP_OUT_IMM8_AL: case OP_OUT_IMM8_EAX:
		out->port_imm = true;
		return take(d, &out->port);
	default:
		break;
	}
	if (out->op == RM_INS || out->op == RM_OUTS) {
		/* INS writes ES:(E)DI, no override (SDM Vol. 2A INS); OUTS reads DS:(E)SI, DS overridable. */
		const uint32_t a = regs->gpr[out->op == RM_INS ? RM_EDI : RM_ESI];
		out->has_mem = true;
		out->offset = d->a32 ? a : a & OFFSET16_MASK;
		out->seg = out->op == RM_INS ? RM_SEG_ES : d->seg_override >= 0 ? (uint8_t)d->seg_override : RM_SEG_DS;
	}
	return 0;
}

int rm_decode(const uint8_t *code, unsigned avail, const struct rm_regs *regs, struct rm_insn *out, char *why,
	      size_t why_len)
{
	struct dec d = {
		.b = code,
		.avail = avail < RM_INSN_MAX ? avail : RM_INSN_MAX,
		.seg_override = -1,
		.why = { why, why ? why_len : 0, 0 },
	};
	struct rm_insn in = { 0 };
	uint8_t opcode;
	if (why && why_len)
		why[0] = 0;
	if (take_prefixes_and_opcode(&d, &opcode))
		return -1;
	int r;
	switch (opcode) {
	case OP_TWO_BYTE:
		r = decode_two_byte(&d, regs, &in);
		break;
	case OP_HLT:
		in.op = RM_HLT;
		r = 0;
		break;
	case OP_INSB: case OP_INSW: case OP_OUTSB: case OP_OUTSW:
	case OP_IN_AL_IMM8: case OP_IN_EAX_IMM8: case OP_OUT_IMM8_AL: case OP_OUT_IMM8_EAX:
	case OP_IN_AL_DX: case OP_IN_EAX_DX: case OP_OUT_DX_AL: case OP_OUT_DX_EAX:
		r = decode_io(&d, opcode, regs, &in);
		break;
	default:
		return unknown_opcode(&d);
	}
	if (r)
		return -1;
	/* The whole instruction is here: now the prefixes it may not have (SDM Vol. 2A 2.1.1). */
	const char *name = op_names[in.op];
	const bool string_io = in.op == RM_INS || in.op == RM_OUTS;
	if (d.lock)
		return refuse(&d, "lock (f0) with %s is #UD (SDM Vol. 2A 2.1.1, LOCK)", name);
	if (d.repne)
		return refuse(&d, "repne (f2) with %s: reserved, or a mandatory prefix of another instruction "
				  "(SDM Vol. 2A 2.1.1)", name);
	if (d.rep && !string_io)
		return refuse(&d, "rep (f3) with %s: reserved, or a mandatory prefix of another instruction "
				  "(SDM Vol. 2A 2.1.1)", name);
	in.rep = d.rep;
	in.len = (uint8_t)d.i;
	in.operand_bits = (uint8_t)(d.o32 ? BITS32 : BITS16);
	in.address_bits = (uint8_t)(d.a32 ? BITS32 : BITS16);
	*out = in;
	return 0;
}

/* A register by number and width in bytes ("al" only for register 0: the I/O instructions'). */
static const char *gpr_name(unsigned reg, unsigned bytes)
{
	if (reg >= RM_GPR_COUNT)
		return "?";
	if (bytes == BYTE)
		return reg == RM_EAX ? "al" : "?";
	return bytes == DWORD ? gpr32_names[reg] : gpr16_names[reg];
}

static void put_mem(struct text *t, const struct rm_insn *in)
{
	put(t, "%s:%#x", rm_seg_name(in->seg), (unsigned)in->offset);
}

int rm_insn_format(const struct rm_insn *in, char *buf, size_t len)
{
	struct text t = { buf, buf ? len : 0, 0 };
	if (t.len)
		buf[0] = 0;
	if ((unsigned)in->op >= RM_OP_COUNT) {
		put(&t, "?");
		return (int)t.pos;
	}
	const char *name = op_names[in->op];
	const char *io_suffix = in->access_bytes == BYTE ? "b" : in->access_bytes == WORD ? "w" : "d";
	switch (in->op) {
	case RM_LGDT:
	case RM_LIDT:
		put(&t, "%s ", name);
		put_mem(&t, in);
		put(&t, " (o%u: %u-bit base)", in->operand_bits, in->base_bits);
		break;
	case RM_SGDT:
	case RM_SIDT:
	case RM_INVLPG:
		put(&t, "%s ", name);
		put_mem(&t, in);
		break;
	case RM_SMSW:
	case RM_LMSW:
		if (in->has_mem) {
			put(&t, "%s word ", name);
			put_mem(&t, in);
		} else {
			put(&t, "%s %s", name, gpr_name(in->gpr, in->access_bytes));
		}
		break;
	case RM_MOV_FROM_CR:
		put(&t, "%s %s, cr%u", name, gpr_name(in->gpr, DWORD), in->ctl_reg);
		break;
	case RM_MOV_FROM_DR:
		put(&t, "%s %s, dr%u", name, gpr_name(in->gpr, DWORD), in->ctl_reg);
		break;
	case RM_MOV_TO_CR:
		put(&t, "%s cr%u, %s", name, in->ctl_reg, gpr_name(in->gpr, DWORD));
		break;
	case RM_MOV_TO_DR:
		put(&t, "%s dr%u, %s", name, in->ctl_reg, gpr_name(in->gpr, DWORD));
		break;
	case RM_IN:
		if (in->port_imm)
			put(&t, "%s %s, %#x", name, gpr_name(RM_EAX, in->access_bytes), in->port);
		else
			put(&t, "%s %s, dx", name, gpr_name(RM_EAX, in->access_bytes));
		break;
	case RM_OUT:
		if (in->port_imm)
			put(&t, "%s %#x, %s", name, in->port, gpr_name(RM_EAX, in->access_bytes));
		else
			put(&t, "%s dx, %s", name, gpr_name(RM_EAX, in->access_bytes));
		break;
	case RM_INS:
	case RM_OUTS:
		put(&t, "%s%s%s ", in->rep ? "rep " : "", name, io_suffix);
		put_mem(&t, in);
		break;
	default:
		put(&t, "%s", name);
		break;
	}
	return (int)t.pos;
}
