#include "vmm/ept_mtrr.h"

int ept_map_with_mtrr_types(struct ept *e, const struct mtrr_state *mtrr, uint64_t gpa, uint64_t hpa, uint64_t len,
			    unsigned perm)
{
	const int type = mtrr ? mtrr_type_of_range(mtrr, hpa, len) : (int)MTRR_TYPE_WB;
	if (type >= 0)
		return ept_map(e, gpa, hpa, len, perm, (unsigned)type);
	/*
	 * MTRRs have 4 KiB granularity (SDM Vol. 3A 12.11): a single page always has one type, so
	 * no type for one means the range itself is unusable (empty, unaligned, wrapping or beyond
	 * MAXPHYADDR).  Refuse it, as ept_map would, instead of splitting it for ever.
	 */
	if (len <= EPT_PAGE_SIZE || (hpa & (EPT_PAGE_SIZE - 1)) || (len & (EPT_PAGE_SIZE - 1)))
		return EPT_ERR_INVALID;
	const uint64_t step = len > EPT_PAGE_SIZE_2M ? EPT_PAGE_SIZE_2M : EPT_PAGE_SIZE;
	for (uint64_t off = 0; off < len;) {
		/* Pieces end at the next step-aligned host address, so large pages stay possible. */
		const uint64_t end = ((hpa + off) / step + 1) * step - hpa;
		const uint64_t n = (end < len ? end : len) - off;
		const int r = ept_map_with_mtrr_types(e, mtrr, gpa + off, hpa + off, n, perm);
		if (r) {
			/*
			 * All or nothing: remove the pieces mapped so far.  They are exactly the
			 * leaves of [gpa, gpa + off) (each ept_map found its range empty), so no
			 * large leaf straddles either end and the unmap cannot fail.
			 */
			if (off)
				ept_unmap(e, gpa, off);
			return r;
		}
		off += n;
	}
	return EPT_OK;
}
