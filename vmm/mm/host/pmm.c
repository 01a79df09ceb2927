/*
 * Physical frame allocator: a sorted array of free extents (see vmm/include/vmm/pmm.h).
 * It never touches the memory it manages.
 */
#include <stdbool.h>
#include <stdint.h>
#include "vmm/pmm.h"

#define PAGE_MASK (PMM_PAGE_SIZE - 1)
/* Highest page-aligned address: the exclusive end of anything managed is at most this. */
#define TOP_PAGE (~PAGE_MASK)

static uint64_t page_down(uint64_t a)
{
	return a & ~PAGE_MASK;
}

/* Round up to a page; saturates at TOP_PAGE instead of wrapping. */
static uint64_t page_up(uint64_t a)
{
	return a > TOP_PAGE ? TOP_PAGE : (a + PAGE_MASK) & ~PAGE_MASK;
}

static uint64_t pages_of(const struct pmm_extent *e)
{
	return (e->end - e->base) / PMM_PAGE_SIZE;
}

static void remove_extent(struct pmm *p, unsigned i)
{
	for (unsigned k = i; k + 1 < p->count; k++)
		p->free[k] = p->free[k + 1];
	p->count--;
}

/* Insert [base, end) at index i (the caller keeps the array sorted); false if full. */
static bool insert_extent(struct pmm *p, unsigned i, uint64_t base, uint64_t end)
{
	if (p->count >= PMM_MAX_EXTENTS)
		return false;
	for (unsigned k = p->count; k > i; k--)
		p->free[k] = p->free[k - 1];
	p->free[i].base = base;
	p->free[i].end = end;
	p->count++;
	return true;
}

/*
 * Add [base, end) (page aligned, non-empty) to the free list, merging with
 * every extent it overlaps or touches.  Used only while building.
 */
static bool add_range(struct pmm *p, uint64_t base, uint64_t end)
{
	unsigned i = 0;
	while (i < p->count && p->free[i].end < base)
		i++;
	/* free[i] is the first extent that overlaps or touches or lies after [base, end). */
	while (i < p->count && p->free[i].base <= end) {
		if (p->free[i].base < base)
			base = p->free[i].base;
		if (p->free[i].end > end)
			end = p->free[i].end;
		remove_extent(p, i);
	}
	return insert_extent(p, i, base, end);
}

/* Remove [base, end) (page aligned) from the free list, splitting extents; false if full. */
static bool cut_range(struct pmm *p, uint64_t base, uint64_t end)
{
	for (unsigned i = 0; i < p->count;) {
		struct pmm_extent *e = &p->free[i];
		if (e->end <= base || e->base >= end) {
			i++;
			continue;
		}
		if (e->base >= base && e->end <= end) {
			remove_extent(p, i);
			continue;
		}
		if (e->base < base && e->end > end) {
			/* Hole in the middle: split. */
			uint64_t old_end = e->end;
			e->end = base;
			return insert_extent(p, i + 1, end, old_end);
		}
		if (e->base < base)
			e->end = base;
		else
			e->base = end;
		i++;
	}
	return true;
}

int pmm_init(struct pmm *p, const struct bootinfo_mem_range *map, unsigned count,
	     const struct pmm_exclusion *excl, unsigned nexcl, uint64_t min_addr)
{
	p->count = 0;
	p->managed_count = 0;
	p->total_pages = 0;
	p->free_pages = 0;

	/* Never manage page 0: its address would read as PMM_NO_MEMORY. */
	uint64_t floor = page_up(min_addr);
	if (floor < PMM_PAGE_SIZE)
		floor = PMM_PAGE_SIZE;

	for (unsigned i = 0; i < count; i++) {
		if (map[i].type != BI_MEM_USABLE || map[i].length == 0)
			continue;
		uint64_t b = map[i].base;
		uint64_t e = map[i].length > UINT64_MAX - b ? UINT64_MAX : b + map[i].length;
		/* Whole pages only: shrink inward. */
		b = page_up(b);
		e = page_down(e);
		if (b < floor)
			b = floor;
		if (b >= e)
			continue;
		if (!add_range(p, b, e))
			goto fail;
	}

	for (unsigned i = 0; i < nexcl; i++) {
		if (excl[i].end <= excl[i].base)
			continue;
		/* Widen outward to whole pages. */
		if (!cut_range(p, page_down(excl[i].base), page_up(excl[i].end)))
			goto fail;
	}

	for (unsigned i = 0; i < p->count; i++)
		p->total_pages += pages_of(&p->free[i]);
	p->free_pages = p->total_pages;
	if (p->total_pages == 0)
		goto fail;
	for (unsigned i = 0; i < p->count; i++)
		p->managed[i] = p->free[i];
	p->managed_count = p->count;
	return 0;

fail:
	/* Leave an allocator that hands out nothing. */
	p->count = 0;
	p->managed_count = 0;
	p->total_pages = 0;
	p->free_pages = 0;
	return -1;
}

static uint64_t alloc_locked(struct pmm *p, uint64_t pages, uint64_t align)
{
	if (align == 0)
		align = PMM_PAGE_SIZE;
	if (align < PMM_PAGE_SIZE || (align & (align - 1)) != 0)
		return PMM_NO_MEMORY;
	if (pages == 0 || pages > p->free_pages)
		return PMM_NO_MEMORY;
	uint64_t size = pages * PMM_PAGE_SIZE; /* no overflow: pages <= free_pages */

	for (unsigned i = 0; i < p->count; i++) {
		struct pmm_extent *e = &p->free[i];
		uint64_t start = (e->base + align - 1) & ~(align - 1);
		if (start < e->base || start >= e->end) /* wrapped, or no aligned address inside */
			continue;
		if (e->end - start < size)
			continue;
		uint64_t end = start + size;
		if (start == e->base && end == e->end) {
			remove_extent(p, i);
		} else if (start == e->base) {
			e->base = end;
		} else if (end == e->end) {
			e->end = start;
		} else {
			/* Carved from the middle: needs one more extent. */
			if (p->count >= PMM_MAX_EXTENTS)
				continue;
			uint64_t old_end = e->end;
			e->end = start;
			insert_extent(p, i + 1, end, old_end);
		}
		p->free_pages -= pages;
		return start;
	}
	return PMM_NO_MEMORY;
}

/*
 * Whether [base, end) lies inside one managed extent.  Managed extents are disjoint
 * and non-adjacent, so every allocation lies inside exactly one of them.
 */
static bool is_managed(const struct pmm *p, uint64_t base, uint64_t end)
{
	for (unsigned i = 0; i < p->managed_count; i++)
		if (base >= p->managed[i].base && end <= p->managed[i].end)
			return true;
	return false;
}

static int free_locked(struct pmm *p, uint64_t base, uint64_t pages)
{
	if (pages == 0 || (base & PAGE_MASK) != 0 || base == 0)
		return -1;
	/* At most what is allocated; also keeps the size and end from overflowing. */
	if (pages > p->total_pages - p->free_pages)
		return -1;
	uint64_t end = base + pages * PMM_PAGE_SIZE;
	if (end < base || end > TOP_PAGE)
		return -1;
	if (!is_managed(p, base, end))
		return -1;

	/* i: first extent that ends at or after base. */
	unsigned i = 0;
	while (i < p->count && p->free[i].end < base)
		i++;
	/* Any overlap with a free extent is a double free. */
	if (i < p->count && p->free[i].base < end && p->free[i].end > base)
		return -1;
	if (i + 1 < p->count && p->free[i + 1].base < end)
		return -1;

	bool join_prev = i < p->count && p->free[i].end == base;
	unsigned next = join_prev ? i + 1 : i;
	bool join_next = next < p->count && p->free[next].base == end;

	if (join_prev && join_next) {
		p->free[i].end = p->free[next].end;
		remove_extent(p, next);
	} else if (join_prev) {
		p->free[i].end = end;
	} else if (join_next) {
		p->free[next].base = base;
	} else if (!insert_extent(p, i, base, end)) {
		return -1;
	}
	p->free_pages += pages;
	return 0;
}

uint64_t pmm_alloc(struct pmm *p, uint64_t pages, uint64_t align)
{
	spin_lock(&p->lock);
	const uint64_t base = alloc_locked(p, pages, align);
	spin_unlock(&p->lock);
	return base;
}

int pmm_free(struct pmm *p, uint64_t base, uint64_t pages)
{
	spin_lock(&p->lock);
	const int r = free_locked(p, base, pages);
	spin_unlock(&p->lock);
	return r;
}

uint64_t pmm_largest_free(const struct pmm *p)
{
	uint64_t best = 0;
	for (unsigned i = 0; i < p->count; i++)
		if (pages_of(&p->free[i]) > best)
			best = pages_of(&p->free[i]);
	return best;
}
