/*
 * The architectural checks of MOV to CR0 (SDM Vol. 2A "MOV - Move to/from
 * Control Registers", Vol. 3A 2.5), as pure logic: the exit handler
 * (vmm/exit/cr.c) applies the result; unit-tested on the host
 * (tests/unit/test_cr_rules.c).
 */
#ifndef VMM_CR_RULES_H
#define VMM_CR_RULES_H

#include <stdbool.h>
#include <stdint.h>

/* The CPU state a MOV to CR0 is checked against. */
struct cr0_write_ctx {
	uint64_t old_cr0, cr4, efer;
	bool in_64bit_mode; /* IA-32e mode with a 64-bit code segment */
};

/*
 * Checks the value a guest writes to CR0.  False: the CPU raises #GP(0) (a 1 in
 * CR0[63:32], PG without PE, NW without CD, clearing PG in 64-bit mode or with
 * CR4.PCIDE, setting PG with EFER.LME but not CR4.PAE).  True: *value becomes
 * what CR0 then holds: reserved bits in CR0[31:0] are ignored, not faulted
 * (they read as 0), and ET reads as 1.
 */
bool cr0_write_check(const struct cr0_write_ctx *c, uint64_t *value);

#endif
