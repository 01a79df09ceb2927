/*
 * Debug-register matching for instructions the monitor emulates: which of DR0-DR3 a data access or
 * an I/O access hits, as pending-debug-exception bits (SDM Vol. 3C 25.4.2, Table 25-4).  Pure: the
 * caller reads DR0-DR3, DR7 and CR4.DE; host-tested in tests/unit/test_dr_match.c.
 */
#ifndef VMM_DR_MATCH_H
#define VMM_DR_MATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <arch/debug.h>

/* Size in bytes of breakpoint n's range (DR7.LENn, SDM Vol. 3B 18.2.5). */
unsigned dr7_len_bytes(uint64_t dr7, unsigned n);

/*
 * A data access of `len` bytes at linear address `addr` (a write, or a read): B0-B3 of each enabled
 * breakpoint whose range it overlaps (R/W = 01b for writes, 11b for both), with the "enabled
 * breakpoint" bit; 0 when none (SDM Vol. 3B 18.2.4, 18.2.5, 18.3.1.2).
 */
uint64_t dr_match_data(const uint64_t dr[DR_BREAKPOINTS], uint64_t dr7, uint64_t addr, uint64_t len, bool write);

/* IN/OUT of `size` bytes at `port`: the same for I/O breakpoints (R/W = 10b), defined only with CR4.DE = 1. */
uint64_t dr_match_io(const uint64_t dr[DR_BREAKPOINTS], uint64_t dr7, bool cr4_de, uint16_t port, unsigned size);

/* Does DR7 enable any breakpoint at all (L0-L3, G0-G3)?  Cheap test before reading DR0-DR3. */
static inline bool dr7_any_enabled(uint64_t dr7) { return (dr7 & DR7_ENABLES) != 0; }

#endif
