/* Decoder of the MOV forms that access the xAPIC page (SDM Vol. 2A chapter 2, Vol. 2B MOV). */
#include "vmm/mmio_decode.h"

/* Opcodes (SDM Vol. 2B MOV). */
#define OP_MOV_STORE     0x89u /* MOV r/m32, r32 */
#define OP_MOV_LOAD      0x8bu /* MOV r32, r/m32 */
#define OP_MOV_STORE_IMM 0xc7u /* MOV r/m32, imm32 (ModRM.reg = 0) */
/* Prefixes (SDM Vol. 2A 2.1.1). */
#define PFX_OPERAND_SIZE 0x66u
#define PFX_ADDRESS_SIZE 0x67u
#define REX_FIRST        0x40u
#define REX_LAST         0x4fu
#define REX_W            0x8u
#define REX_R            0x4u
/* ModRM and SIB fields (SDM Vol. 2A 2.1.5). */
#define MODRM_MOD(m)     ((m) >> 6)
#define MODRM_REG(m)     (((m) >> 3) & 7u)
#define MODRM_RM(m)      ((m) & 7u)
#define MOD_NO_DISP      0u
#define MOD_DISP8        1u
#define MOD_DISP32       2u
#define MOD_REGISTER     3u
#define RM_SIB           4u
#define RM_DISP32        5u /* with mod 0: disp32 (RIP-relative in 64-bit mode) */
#define SIB_BASE(s)      ((s) & 7u)
#define SIB_BASE_NONE    5u /* with mod 0: no base, disp32 */
#define DWORD            4u

static bool is_segment_override(uint8_t b)
{
	return b == 0x26 || b == 0x2e || b == 0x36 || b == 0x3e || b == 0x64 || b == 0x65;
}

enum mmio_decode_result mmio_decode(const uint8_t *b, unsigned n, bool long_mode, struct mmio_insn *out)
{
	unsigned i = 0, rex = 0;
	if (n > MMIO_INSN_MAX)
		n = MMIO_INSN_MAX;
	for (;; i++) {
		if (i >= n)
			return MMIO_DECODE_TRUNCATED;
		if (is_segment_override(b[i]))
			continue;
		/* 67h in 64-bit mode: 32-bit addresses, same ModRM encoding; in 32-bit code: 16-bit forms. */
		if (b[i] == PFX_ADDRESS_SIZE && long_mode)
			continue;
		break;
	}
	/* REX must come right before the opcode (SDM 2.2.1). */
	if (long_mode && b[i] >= REX_FIRST && b[i] <= REX_LAST) {
		rex = b[i++];
		if (i >= n)
			return MMIO_DECODE_TRUNCATED;
	}
	if (rex & REX_W)
		return MMIO_DECODE_UNSUPPORTED; /* 64-bit operand: the APIC registers are 32 bits */
	const uint8_t op = b[i++];
	if (op != OP_MOV_STORE && op != OP_MOV_LOAD && op != OP_MOV_STORE_IMM)
		return MMIO_DECODE_UNSUPPORTED; /* 66h (16-bit), LOCK, REP, other instructions */
	if (i >= n)
		return MMIO_DECODE_TRUNCATED;
	const uint8_t modrm = b[i++];
	if (MODRM_MOD(modrm) == MOD_REGISTER || (op == OP_MOV_STORE_IMM && MODRM_REG(modrm) != 0))
		return MMIO_DECODE_UNSUPPORTED;
	unsigned disp = MODRM_MOD(modrm) == MOD_DISP8 ? 1 : MODRM_MOD(modrm) == MOD_DISP32 ? DWORD : 0;
	if (MODRM_RM(modrm) == RM_SIB) {
		if (i >= n)
			return MMIO_DECODE_TRUNCATED;
		if (MODRM_MOD(modrm) == MOD_NO_DISP && SIB_BASE(b[i]) == SIB_BASE_NONE)
			disp = DWORD;
		i++;
	} else if (MODRM_MOD(modrm) == MOD_NO_DISP && MODRM_RM(modrm) == RM_DISP32) {
		disp = DWORD;
	}
	i += disp;
	out->imm = 0;
	if (op == OP_MOV_STORE_IMM) {
		if (i + DWORD > n)
			return MMIO_DECODE_TRUNCATED;
		out->imm = (uint32_t)b[i] | (uint32_t)b[i + 1] << 8 | (uint32_t)b[i + 2] << 16 | (uint32_t)b[i + 3] << 24;
		i += DWORD;
	}
	if (i > n)
		return MMIO_DECODE_TRUNCATED;
	out->op = op == OP_MOV_LOAD ? MMIO_LOAD : op == OP_MOV_STORE ? MMIO_STORE_REG : MMIO_STORE_IMM;
	out->len = i;
	out->size = DWORD;
	out->reg = MODRM_REG(modrm) | ((rex & REX_R) ? 8u : 0u);
	return MMIO_DECODE_OK;
}
