/* Decoders of VM-exit information (SDM Vol. 3C 28.2); see vmm/vmx/exit_decode.h.  No VMCS access here. */
#include "exit_decode.h"

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

