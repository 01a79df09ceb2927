/* x86 operands of emulated instructions: see vmm/include/vmm/operand.h. */
#include "vmm/operand.h"

#define GPR_NUMBER_MASK 0xfu /* general registers are numbered 0-15 (SDM Table 28-3) */

uint64_t exit_operand_offset(const struct insn_operand *op, uint64_t displacement, const uint64_t gpr[16])
{
	uint64_t offset = displacement;
	if (op->base_valid)
		offset += gpr[op->base & GPR_NUMBER_MASK];
	if (op->index_valid)
		offset += gpr[op->index & GPR_NUMBER_MASK] * op->scale;
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
