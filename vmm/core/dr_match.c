/* Debug-register matching for emulated accesses (see vmm/include/vmm/dr_match.h). */
#include "vmm/dr_match.h"

unsigned dr7_len_bytes(uint64_t dr7, unsigned n)
{
	static const unsigned bytes[] = { [DR7_LEN_1] = 1, [DR7_LEN_2] = 2, [DR7_LEN_8] = 8, [DR7_LEN_4] = 4 };
	return bytes[(dr7 >> DR7_LEN_SHIFT(n)) & DR7_FIELD_MASK];
}

static bool dr_enabled(uint64_t dr7, unsigned n)
{
	return (dr7 & (DR7_L(n) | DR7_G(n))) != 0;
}

/*
 * Does [addr, addr + len) overlap breakpoint n's range?  The CPU ignores the address bits below the
 * range's size (an unaligned breakpoint address is aligned down, SDM Vol. 3B 18.2.5).  Both ends are
 * compared without forming addr + len, which may wrap at the top of the address space.
 */
static bool dr_overlaps(const uint64_t dr[DR_BREAKPOINTS], uint64_t dr7, unsigned n, uint64_t addr, uint64_t len)
{
	const uint64_t size = dr7_len_bytes(dr7, n);
	const uint64_t start = dr[n] & ~(size - 1);
	if (len == 0)
		return false;
	return addr <= start + (size - 1) && start <= addr + (len - 1);
}

static uint64_t dr_match(const uint64_t dr[DR_BREAKPOINTS], uint64_t dr7, uint64_t addr, uint64_t len,
			 bool (*kind_matches)(unsigned rw, bool write), bool write)
{
	uint64_t hit = 0;
	if (!dr7_any_enabled(dr7))
		return 0;
	for (unsigned n = 0; n < DR_BREAKPOINTS; n++) {
		const unsigned rw = (dr7 >> DR7_RW_SHIFT(n)) & DR7_FIELD_MASK;
		if (dr_enabled(dr7, n) && kind_matches(rw, write) && dr_overlaps(dr, dr7, n, addr, len))
			hit |= DR6_B(n);
	}
	return hit ? hit | PENDING_DBG_ENABLED_BP : 0;
}

static bool data_kind(unsigned rw, bool write)
{
	return rw == DR7_RW_READ_WRITE || (rw == DR7_RW_WRITE && write);
}

static bool io_kind(unsigned rw, bool write)
{
	(void)write;
	return rw == DR7_RW_IO;
}

uint64_t dr_match_data(const uint64_t dr[DR_BREAKPOINTS], uint64_t dr7, uint64_t addr, uint64_t len, bool write)
{
	return dr_match(dr, dr7, addr, len, data_kind, write);
}

uint64_t dr_match_io(const uint64_t dr[DR_BREAKPOINTS], uint64_t dr7, bool cr4_de, uint16_t port, unsigned size)
{
	if (!cr4_de)
		return 0; /* R/W = 10b is undefined without CR4.DE: no I/O breakpoints (SDM Vol. 3B 18.2.4) */
	return dr_match(dr, dr7, port, size, io_kind, false);
}
