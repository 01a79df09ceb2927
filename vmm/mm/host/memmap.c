/*
 * Memory-map normalisation (see vmm/include/vmm/memmap.h).
 *
 * Works in place in the caller's array with O(1) extra space:
 *  1. drop zero-length ranges and ranges whose end does not fit in 64 bits;
 *  2. merge overlapping or adjacent ranges of the same type, so same-type
 *     ranges are disjoint and separated by a gap;
 *  3. remove ranges that leave nothing once stronger ranges are cut out
 *     (and usable ones are shrunk to whole pages);
 *  4. replace each range by the pieces it leaves (usable pieces page aligned);
 *  5. sort by base and merge adjacent ranges of the same type.
 *
 * Every range left after step 3 yields at least one entry of the result and
 * no two ranges yield the same entry, so the count during step 4 never exceeds
 * the size of the result: "does not fit" is reported only when it is true.
 * Ranges are handled as [base, end) with end = base + length.
 */
#include <stdbool.h>
#include <stdint.h>
#include "vmm/memmap.h"

#define MM_PAGE 4096ull

/* Overlap precedence: usable loses to everything; otherwise the higher value wins. */
static uint64_t type_rank(uint32_t type)
{
	return type == BI_MEM_USABLE ? 0 : (uint64_t)type + 1;
}

static uint64_t end_of(const struct bootinfo_mem_range *r)
{
	return r->base + r->length;
}

static void set_end(struct bootinfo_mem_range *r, uint64_t end)
{
	r->length = end - r->base;
}

/* Remove entry i (order is not kept; the final sort restores it). */
static void remove_at(struct bootinfo_mem_range *r, unsigned *count, unsigned i)
{
	r[i] = r[*count - 1];
	(*count)--;
}

/* Merge every pair of same-type ranges that overlap or touch. */
static void merge_same_type(struct bootinfo_mem_range *r, unsigned *count)
{
	bool changed = true;
	while (changed) {
		changed = false;
		for (unsigned i = 0; i < *count; i++) {
			for (unsigned j = i + 1; j < *count; j++) {
				if (r[i].type != r[j].type)
					continue;
				uint64_t bi = r[i].base, ei = end_of(&r[i]);
				uint64_t bj = r[j].base, ej = end_of(&r[j]);
				if (bj > ei || bi > ej)
					continue; /* separated by a gap */
				r[i].base = bi < bj ? bi : bj;
				set_end(&r[i], ei > ej ? ei : ej);
				remove_at(r, count, j);
				changed = true;
				j = i; /* rescan i against everything after it */
			}
		}
	}
}

/*
 * The pieces of range `x` (bounds xb..xe, type xt) that survive: the parts not
 * covered by any stronger range of r[0..n), shrunk inward to pages if usable.
 * Iterates: *pos is the scan position (start at xb); returns true and sets
 * [*pb, *pe) for the next piece, false when there are no more.
 */
static bool next_piece(const struct bootinfo_mem_range *r, unsigned n, uint64_t xe, uint32_t xt,
		       uint64_t *pos, uint64_t *pb, uint64_t *pe)
{
	uint64_t rank = type_rank(xt);
	uint64_t p = *pos;

	while (p < xe) {
		/* Skip past stronger ranges covering p (they may chain). */
		bool moved = true;
		while (moved) {
			moved = false;
			for (unsigned j = 0; j < n; j++) {
				if (type_rank(r[j].type) <= rank)
					continue;
				if (r[j].base <= p && p < end_of(&r[j])) {
					p = end_of(&r[j]);
					moved = true;
				}
			}
		}
		if (p >= xe)
			break;
		/* The gap runs up to the next stronger range that starts inside x. */
		uint64_t q = xe;
		for (unsigned j = 0; j < n; j++)
			if (type_rank(r[j].type) > rank && r[j].base > p && r[j].base < q)
				q = r[j].base;
		uint64_t b = p, e = q;
		p = q;
		if (xt == BI_MEM_USABLE) {
			uint64_t ab = (b + MM_PAGE - 1) & ~(MM_PAGE - 1);
			e &= ~(MM_PAGE - 1);
			if (ab < b || ab >= e) /* empty (ab < b: rounding up wrapped) */
				continue;
			b = ab;
		}
		*pos = p;
		*pb = b;
		*pe = e;
		return true;
	}
	*pos = xe;
	return false;
}

static unsigned count_pieces(const struct bootinfo_mem_range *r, unsigned n, unsigned i)
{
	uint64_t pos = r[i].base, b, e;
	unsigned k = 0;
	while (next_piece(r, n, end_of(&r[i]), r[i].type, &pos, &b, &e))
		k++;
	return k;
}

int memmap_normalize(struct bootinfo_mem_range *r, unsigned *count, unsigned cap)
{
	unsigned n = *count;
	if (n > cap)
		return -1;

	/* 1. Drop empty and wrapping ranges (the exclusive end must fit in 64 bits). */
	for (unsigned i = 0; i < n;) {
		if (r[i].length == 0 || r[i].length > UINT64_MAX - r[i].base)
			remove_at(r, &n, i);
		else
			i++;
	}

	/* 2. Same-type unions first, so same-type ranges are disjoint and apart. */
	merge_same_type(r, &n);

	/*
	 * 3. Remove ranges that leave nothing: fully covered by stronger ones, or
	 *    usable slivers.  This never changes what any other range leaves,
	 *    because the points of a removed range stay covered by stronger ones.
	 */
	for (unsigned i = 0; i < n;) {
		if (count_pieces(r, n, i) == 0)
			remove_at(r, &n, i);
		else
			i++;
	}

	/*
	 * 4. Replace every range by its pieces: the first in place, the rest
	 *    appended (appended pieces are final and are not revisited).  Every
	 *    range left now yields at least one entry of the result, so running
	 *    out of room here means the result does not fit.
	 */
	unsigned orig = n;
	for (unsigned i = 0; i < orig; i++) {
		unsigned k = count_pieces(r, n, i);
		if (k - 1 > cap - n) {
			*count = n;
			return -1;
		}
		struct bootinfo_mem_range x = r[i];
		uint64_t pos = x.base, b, e;
		bool first = true;
		while (next_piece(r, n, end_of(&x), x.type, &pos, &b, &e)) {
			unsigned slot = first ? i : n++;
			r[slot] = x;
			r[slot].base = b;
			set_end(&r[slot], e);
			first = false;
		}
	}

	/*
	 * 5. Sort by base (insertion sort: maps are small).  By construction no
	 *    two same-type pieces touch; the merge below is only a safety net.
	 */
	for (unsigned i = 1; i < n; i++) {
		struct bootinfo_mem_range t = r[i];
		unsigned j = i;
		while (j > 0 && r[j - 1].base > t.base) {
			r[j] = r[j - 1];
			j--;
		}
		r[j] = t;
	}
	unsigned out = 0;
	for (unsigned i = 0; i < n; i++) {
		if (out > 0 && r[out - 1].type == r[i].type && end_of(&r[out - 1]) >= r[i].base) {
			uint64_t e = end_of(&r[i]);
			if (e > end_of(&r[out - 1]))
				set_end(&r[out - 1], e);
			continue;
		}
		r[out++] = r[i];
	}
	*count = out;
	return 0;
}

uint64_t memmap_usable_bytes(const struct bootinfo_mem_range *r, unsigned count, uint64_t min_addr)
{
	uint64_t total = 0;
	for (unsigned i = 0; i < count; i++) {
		if (r[i].type != BI_MEM_USABLE || r[i].length == 0)
			continue;
		uint64_t b = r[i].base;
		uint64_t e = r[i].length > UINT64_MAX - b ? UINT64_MAX : b + r[i].length;
		if (b < min_addr)
			b = min_addr;
		if (e > b)
			total += e - b;
	}
	return total;
}

const char *memmap_type_name(uint32_t type)
{
	switch (type) {
#define X(name, value, text) case value: return text;
	BOOTINFO_MEM_TYPES(X)
#undef X
	default:
		return "unknown";
	}
}
