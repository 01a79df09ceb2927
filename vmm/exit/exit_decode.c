/* Decoders of VM-exit information (SDM Vol. 3C 28.2); see vmm/exit_decode.h.  No VMCS access here. */
#include "vmm/exit_decode.h"

/* Instruction information of descriptor-table exits (SDM Tables 28-10 and 28-11). */
#define II_SCALING_MASK     0x3u
#define II_REG1_SHIFT       3
#define II_REG1_MASK        0xfu
#define II_ADDR_SIZE_SHIFT  7
#define II_ADDR_SIZE_MASK   0x7u
#define II_IS_REGISTER      (1u << 10) /* reason 47; cleared to 0 for reason 46 */
#define II_OPERAND_32BIT    (1u << 11) /* reason 46 */
#define II_SEGMENT_SHIFT    15
#define II_SEGMENT_MASK     0x7u
#define II_INDEX_SHIFT      18
#define II_INDEX_INVALID    (1u << 22)
#define II_BASE_SHIFT       23
#define II_BASE_INVALID     (1u << 27)
#define II_GPR_MASK         0xfu
#define II_IDENTITY_SHIFT   28
#define II_IDENTITY_MASK    0x3u
enum { ADDR_SIZE_16 = 0, ADDR_SIZE_32 = 1, ADDR_SIZE_64 = 2 }; /* other encodings are not used */

bool exit_decode_dt_info(uint32_t info, bool ldtr_tr, struct insn_operand *op)
{
	*op = (struct insn_operand){ 0 };
	op->identity = (uint8_t)((info >> II_IDENTITY_SHIFT) & II_IDENTITY_MASK);
	if (ldtr_tr) {
		op->is_register = (info & II_IS_REGISTER) != 0;
		op->reg = (uint8_t)((info >> II_REG1_SHIFT) & II_REG1_MASK);
		if (op->is_register)
			return true; /* the memory fields are undefined */
	} else {
		if (info & II_IS_REGISTER)
			return false; /* always a memory operand */
		op->operand_32bit = (info & II_OPERAND_32BIT) != 0;
	}
	switch ((info >> II_ADDR_SIZE_SHIFT) & II_ADDR_SIZE_MASK) {
	case ADDR_SIZE_16: op->addr_bytes = 2; break;
	case ADDR_SIZE_32: op->addr_bytes = 4; break;
	case ADDR_SIZE_64: op->addr_bytes = 8; break;
	default: return false;
	}
	op->seg = (uint8_t)((info >> II_SEGMENT_SHIFT) & II_SEGMENT_MASK);
	if (op->seg >= SEG_COUNT)
		return false;
	op->scale = (uint8_t)(1u << (info & II_SCALING_MASK));
	op->index_valid = !(info & II_INDEX_INVALID);
	op->index = (uint8_t)((info >> II_INDEX_SHIFT) & II_GPR_MASK);
	op->base_valid = !(info & II_BASE_INVALID);
	op->base = (uint8_t)((info >> II_BASE_SHIFT) & II_GPR_MASK);
	return true;
}

uint64_t exit_operand_offset(const struct insn_operand *op, uint64_t displacement, const uint64_t gpr[16])
{
	uint64_t offset = displacement;
	if (op->base_valid)
		offset += gpr[op->base & II_GPR_MASK];
	if (op->index_valid)
		offset += gpr[op->index & II_GPR_MASK] * op->scale;
	if (op->addr_bytes == 2)
		return offset & 0xffffull;
	if (op->addr_bytes == 4)
		return offset & 0xffffffffull;
	return offset;
}

/* Legacy prefixes (SDM Vol. 2A 2.1.1): lock/repeat, segment overrides, operand and address size. */
enum {
	PREFIX_LOCK = 0xf0, PREFIX_REPNE = 0xf2, PREFIX_REP = 0xf3, PREFIX_CS = 0x2e, PREFIX_SS = 0x36,
	PREFIX_DS = 0x3e, PREFIX_ES = 0x26, PREFIX_FS = 0x64, PREFIX_GS = 0x65, PREFIX_OPSIZE = 0x66,
	PREFIX_ADDRSIZE = 0x67,
};
#define OPCODE_ESCAPE 0x0f
#define OPCODE_GROUP7 0x01 /* 0F 01 /0-/3: SGDT, SIDT, LGDT, LIDT */

static bool legacy_prefix(uint8_t b)
{
	switch (b) {
	case PREFIX_LOCK: case PREFIX_REPNE: case PREFIX_REP: case PREFIX_CS: case PREFIX_SS: case PREFIX_DS:
	case PREFIX_ES: case PREFIX_FS: case PREFIX_GS: case PREFIX_OPSIZE: case PREFIX_ADDRSIZE:
		return true;
	default:
		return false;
	}
}

unsigned exit_dt_operand_bytes(const uint8_t *bytes, unsigned n, bool cs_d)
{
	bool opsize = false;
	unsigned i = 0;
	while (i < n && legacy_prefix(bytes[i])) {
		opsize |= bytes[i] == PREFIX_OPSIZE;
		i++;
	}
	if (i + 1 >= n || bytes[i] != OPCODE_ESCAPE || bytes[i + 1] != OPCODE_GROUP7)
		return 0;
	return cs_d != opsize ? 4 : 2;
}
