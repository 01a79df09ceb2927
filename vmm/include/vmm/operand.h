/* x86 operands of emulated instructions: memory-operand offsets, LGDT/LIDT operand size (vmm/exit/operand.c). */
#ifndef VMM_OPERAND_H
#define VMM_OPERAND_H

#include <stdbool.h>
#include <stdint.h>
#include "vmm/vm_exit.h"

/*
 * The offset of a memory operand within its segment (SDM Vol. 1 3.7.5): base + index * scale +
 * displacement (the exit qualification), wrapped to the address size.  `gpr` holds the 16
 * general-purpose registers in SDM order.
 */
uint64_t exit_operand_offset(const struct insn_operand *op, uint64_t displacement, const uint64_t gpr[16]);

/*
 * Operand size of LGDT/LIDT/SGDT/SIDT outside 64-bit mode, from the instruction's own bytes: the
 * code segment's default (CS.D) toggled by a 0x66 prefix (SDM Vol. 2A 2.1.1, 3.3.5).  4 or 2
 * (bytes of base the 16-bit operand size keeps 3 of), or 0 when the bytes are not a 0F 01
 * instruction after legacy prefixes.  Bochs 2.7 leaves the operand-size bit of the instruction
 * information (bit 11, Table 28-10) clear, so the monitor reads the instruction instead.
 */
unsigned exit_dt_operand_bytes(const uint8_t *bytes, unsigned n, bool cs_d);

#endif
