#include "vmm/ept_mtrr.h"

int ept_map_with_mtrr_types(struct ept *e, const struct mtrr_state *mtrr, uint64_t gpa, uint64_t hpa, uint64_t len,
			    unsigned perm)
{
	const int type = mtrr ? mtrr_type_of_range(mtrr, hpa, len) : (int)MTRR_TYPE_WB;
	if (type >= 0)
		return ept_map(e, gpa, hpa, len, perm, (unsigned)type);
	const uint64_t step = len > EPT_PAGE_SIZE_2M ? EPT_PAGE_SIZE_2M : EPT_PAGE_SIZE;
	for (uint64_t off = 0; off < len;) {
		/* Pieces end at the next step-aligned host address, so large pages stay possible. */
		const uint64_t end = ((hpa + off) / step + 1) * step - hpa;
		const uint64_t n = (end < len ? end : len) - off;
		const int r = ept_map_with_mtrr_types(e, mtrr, gpa + off, hpa + off, n, perm);
		if (r)
			return r;
		off += n;
	}
	return EPT_OK;
}
