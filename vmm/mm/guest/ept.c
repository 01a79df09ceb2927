/*
 * Extended page tables: builder and software walk (see vmm/include/vmm/ept.h).
 * SDM Vol. 3C 29.3.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "vmm/ept.h"

#define EPTE_SIZE 8u /* bytes per entry */
/* Non-leaf entries allow everything: the leaves decide (SDM 29.3.3.2). */
#define EPTE_TABLE_PERM EPTE_PERM_MASK
/* Reserved bits of entries that reference a table: 7:3 in a PML4E (Table 29-1), 6:3 in a PDPTE/PDE (Tables 29-3, 29-5). */
#define EPTE_PML4E_RSVD (0x1full << 3)
#define EPTE_TABLE_RSVD (0xfull << 3)
/* Below the address of a large leaf, bits 29:12 (1 GiB, Table 29-2) / 20:12 (2 MiB, Table 29-4) are reserved. */
#define EPTE_LEAF_RSVD(size) (((size) - 1) & ~(EPT_PAGE_SIZE - 1))
#define EPTE_MEMTYPE(v) ((unsigned)(((v) & EPTE_MEMTYPE_MASK) >> EPTE_MEMTYPE_SHIFT))
#define EPTP_WALK_LENGTH_4 (EPT_LEVELS - 1) /* the EPTP holds the page-walk length minus 1 */
#define EPT_GPA_LIMIT (1ull << EPT_GPA_BITS)

static unsigned level_shift(unsigned level)
{
	return EPT_PAGE_SHIFT + EPT_INDEX_BITS * (level - 1);
}

static uint64_t level_size(unsigned level)
{
	return 1ull << level_shift(level);
}

static unsigned level_index(uint64_t gpa, unsigned level)
{
	return (unsigned)(gpa >> level_shift(level)) & (EPT_TABLE_ENTRIES - 1);
}

static unsigned phys_bits(const struct ept *e)
{
	return e->maxphyaddr == 0 || e->maxphyaddr > EPT_MAX_PHYS_BITS ? EPT_MAX_PHYS_BITS : e->maxphyaddr;
}

/* Bits 51:MAXPHYADDR, reserved in every present entry (SDM 29.3.3.1). */
static uint64_t rsvd_phys_mask(const struct ept *e)
{
	return ((1ull << EPT_MAX_PHYS_BITS) - 1) & ~((1ull << phys_bits(e)) - 1);
}

static uint64_t *table_at(const struct ept *e, uint64_t hpa)
{
	return e->hpa_to_ptr(e->ctx, hpa);
}

/* Present: any of bits 2:0 set (SDM 29.3.2). */
static bool entry_present(uint64_t v)
{
	return (v & EPTE_PERM_MASK) != 0;
}

static bool entry_is_leaf(uint64_t v, unsigned level)
{
	return level == EPT_LEVEL_PT ||
	       ((level == EPT_LEVEL_PD || level == EPT_LEVEL_PDPT) && (v & EPTE_LARGE_PAGE));
}

static bool memtype_valid(unsigned mt)
{
	return mt == EPT_MEMTYPE_UC || mt == EPT_MEMTYPE_WC || mt == EPT_MEMTYPE_WT || mt == EPT_MEMTYPE_WP ||
	       mt == EPT_MEMTYPE_WB;
}

/* Permission combinations that do not cause misconfigurations (SDM 29.3.3.1). */
static bool perm_valid(const struct ept *e, uint64_t perm)
{
	if ((perm & EPTE_WRITE) && !(perm & EPTE_READ))
		return false;
	if (perm == EPTE_EXEC && !e->allow_exec_only)
		return false;
	return true;
}

/* A present entry that the CPU would report as an EPT misconfiguration (SDM 29.3.3.1). */
static bool entry_misconfigured(const struct ept *e, uint64_t v, unsigned level)
{
	if (!perm_valid(e, v & EPTE_PERM_MASK))
		return true;
	if (v & rsvd_phys_mask(e))
		return true;
	if (level == EPT_LEVEL_PML4)
		return (v & EPTE_PML4E_RSVD) != 0;
	if (!entry_is_leaf(v, level))
		return (v & EPTE_TABLE_RSVD) != 0;
	if (!memtype_valid(EPTE_MEMTYPE(v)))
		return true;
	if (level == EPT_LEVEL_PDPT && !e->allow_1g)
		return true;
	if (level == EPT_LEVEL_PD && !e->allow_2m)
		return true;
	return level != EPT_LEVEL_PT && (v & EPTE_LEAF_RSVD(level_size(level))) != 0;
}

int ept_init(struct ept *e)
{
	if (!e || !e->alloc_table || !e->hpa_to_ptr)
		return EPT_ERR_INVALID;
	e->table_pages = 0;
	uint64_t t = e->alloc_table(e->ctx);
	if (t == 0 || (t & (EPT_PAGE_SIZE - 1)) || (t & ~EPTE_ADDR_MASK) || (t & rsvd_phys_mask(e)))
		return EPT_ERR_NO_MEMORY;
	memset(table_at(e, t), 0, EPT_PAGE_SIZE);
	e->pml4 = t;
	e->table_pages = 1;
	return EPT_OK;
}

/*
 * Read-only descent toward gpa: stops at the first entry that is not present
 * or is a leaf.  *entry points at it, *level is its level; the entry covers the
 * naturally aligned block of level_size(*level) bytes around gpa.
 */
static void lookup(const struct ept *e, uint64_t gpa, uint64_t **entry, unsigned *level)
{
	uint64_t *table = table_at(e, e->pml4);
	for (unsigned l = EPT_LEVEL_PML4;; l--) {
		uint64_t *ent = &table[level_index(gpa, l)];
		if (!entry_present(*ent) || entry_is_leaf(*ent, l)) {
			*entry = ent;
			*level = l;
			return;
		}
		table = table_at(e, *ent & EPTE_ADDR_MASK);
	}
}

/*
 * The entry for gpa at `level`, creating the missing tables above it.
 * EPT_ERR_MAPPED if a leaf above `level` already covers gpa.
 */
static int slot_for(struct ept *e, uint64_t gpa, unsigned level, uint64_t **slot)
{
	uint64_t *table = table_at(e, e->pml4);
	for (unsigned l = EPT_LEVEL_PML4; l > level; l--) {
		uint64_t *ent = &table[level_index(gpa, l)];
		if (!entry_present(*ent)) {
			uint64_t t = e->alloc_table(e->ctx);
			if (t == 0 || (t & ~EPTE_ADDR_MASK) || (t & rsvd_phys_mask(e)))
				return EPT_ERR_NO_MEMORY;
			memset(table_at(e, t), 0, EPT_PAGE_SIZE);
			e->table_pages++;
			*ent = t | EPTE_TABLE_PERM;
		} else if (entry_is_leaf(*ent, l)) {
			return EPT_ERR_MAPPED;
		}
		table = table_at(e, *ent & EPTE_ADDR_MASK);
	}
	*slot = &table[level_index(gpa, level)];
	return EPT_OK;
}

/* A non-empty 4 KiB-aligned guest-physical range inside the 48-bit EPT space. */
static bool gpa_range_ok(uint64_t gpa, uint64_t size)
{
	return size != 0 && !(gpa & (EPT_PAGE_SIZE - 1)) && !(size & (EPT_PAGE_SIZE - 1)) && gpa < EPT_GPA_LIMIT &&
	       size <= EPT_GPA_LIMIT - gpa;
}

/* Clear every leaf in [gpa, end); the caller has checked that none straddles an end. */
static void clear_leaves(struct ept *e, uint64_t gpa, uint64_t end)
{
	for (uint64_t cur = gpa; cur < end;) {
		uint64_t *ent;
		unsigned level;
		lookup(e, cur, &ent, &level);
		if (entry_present(*ent))
			*ent = 0;
		cur = (cur & ~(level_size(level) - 1)) + level_size(level);
	}
}

int ept_map(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned perm, unsigned memtype)
{
	const unsigned mt = memtype & ~EPT_MAP_IGNORE_PAT;
	if (!gpa_range_ok(gpa, size) || (hpa & (EPT_PAGE_SIZE - 1)))
		return EPT_ERR_INVALID;
	const uint64_t hpa_limit = 1ull << phys_bits(e);
	if (hpa >= hpa_limit || size > hpa_limit - hpa)
		return EPT_ERR_INVALID;
	if ((perm & ~EPT_RWX) || perm == 0 || !perm_valid(e, perm) || !memtype_valid(mt) ||
	    (memtype & ~(EPT_MAP_IGNORE_PAT | (unsigned)(EPTE_MEMTYPE_MASK >> EPTE_MEMTYPE_SHIFT))))
		return EPT_ERR_INVALID;
	const uint64_t end = gpa + size;

	/* Refuse before changing anything if any page of the range is mapped. */
	for (uint64_t cur = gpa; cur < end;) {
		uint64_t *ent;
		unsigned level;
		lookup(e, cur, &ent, &level);
		if (entry_present(*ent))
			return EPT_ERR_MAPPED;
		cur = (cur & ~(level_size(level) - 1)) + level_size(level);
	}

	const uint64_t leaf_bits = (uint64_t)perm | ((uint64_t)mt << EPTE_MEMTYPE_SHIFT) |
				   ((memtype & EPT_MAP_IGNORE_PAT) ? EPTE_IGNORE_PAT : 0);
	const unsigned top = e->allow_1g ? EPT_LEVEL_PDPT : e->allow_2m ? EPT_LEVEL_PD : EPT_LEVEL_PT;
	for (uint64_t cur = gpa; cur < end;) {
		const uint64_t h = hpa + (cur - gpa);
		unsigned level = top;
		for (;; level--) {
			const uint64_t sz = level_size(level);
			if (level > EPT_LEVEL_PT && (((cur | h) & (sz - 1)) || end - cur < sz ||
						     (level == EPT_LEVEL_PD && !e->allow_2m)))
				continue;
			uint64_t *slot;
			int rc = slot_for(e, cur, level, &slot);
			if (rc != EPT_OK) {
				clear_leaves(e, gpa, cur);
				return rc;
			}
			if (entry_present(*slot)) {
				if (level > EPT_LEVEL_PT && !entry_is_leaf(*slot, level))
					continue; /* a table is already here: use smaller leaves inside it */
				clear_leaves(e, gpa, cur);
				return EPT_ERR_MAPPED;
			}
			*slot = h | leaf_bits | (level > EPT_LEVEL_PT ? EPTE_LARGE_PAGE : 0);
			cur += sz;
			break;
		}
	}
	return EPT_OK;
}

/* Whether a leaf straddles gpa (some of it below gpa, some at or above it). */
static bool leaf_straddles(const struct ept *e, uint64_t gpa)
{
	if (gpa >= EPT_GPA_LIMIT)
		return false;
	uint64_t *ent;
	unsigned level;
	lookup(e, gpa, &ent, &level);
	return entry_present(*ent) && (gpa & (level_size(level) - 1)) != 0;
}

int ept_unmap(struct ept *e, uint64_t gpa, uint64_t size)
{
	if (!gpa_range_ok(gpa, size))
		return EPT_ERR_INVALID;
	if (leaf_straddles(e, gpa) || leaf_straddles(e, gpa + size))
		return EPT_ERR_SPLIT;
	clear_leaves(e, gpa, gpa + size);
	return EPT_OK;
}

int ept_set_perm(struct ept *e, uint64_t gpa, uint64_t size, unsigned perm)
{
	if (!gpa_range_ok(gpa, size) || (perm & ~EPT_RWX) || perm == 0 || !perm_valid(e, perm))
		return EPT_ERR_INVALID;
	const uint64_t end = gpa + size;
	for (uint64_t cur = gpa; cur < end;) {
		uint64_t *ent;
		unsigned level;
		lookup(e, cur, &ent, &level);
		const uint64_t sz = level_size(level), base = cur & ~(sz - 1);
		if (!entry_present(*ent))
			return EPT_ERR_NOT_MAPPED;
		if (base < gpa || sz > end - base)
			return EPT_ERR_SPLIT;
		cur = base + sz;
	}
	for (uint64_t cur = gpa; cur < end;) {
		uint64_t *ent;
		unsigned level;
		lookup(e, cur, &ent, &level);
		*ent = (*ent & ~EPTE_PERM_MASK) | perm;
		cur += level_size(level);
	}
	return EPT_OK;
}

int ept_translate(const struct ept *e, uint64_t gpa, struct ept_walk *out)
{
	memset(out, 0, sizeof(*out));
	if (gpa >= EPT_GPA_LIMIT)
		return EPT_ERR_INVALID;
	uint64_t table = e->pml4;
	unsigned perm = EPT_RWX;
	for (unsigned level = EPT_LEVEL_PML4; level >= EPT_LEVEL_PT; level--) {
		const unsigned idx = level_index(gpa, level);
		const uint64_t v = table_at(e, table)[idx];
		out->entry = v;
		out->entry_hpa = table + (uint64_t)idx * EPTE_SIZE;
		out->level = level;
		if (!entry_present(v))
			return EPT_ERR_NOT_MAPPED;
		if (entry_misconfigured(e, v, level))
			return EPT_ERR_MISCONFIG;
		perm &= (unsigned)(v & EPTE_PERM_MASK); /* SDM 29.3.3.2: every level must allow the access */
		if (entry_is_leaf(v, level)) {
			const uint64_t sz = level_size(level);
			out->page_size = sz;
			out->hpa = (v & EPTE_ADDR_MASK & ~(sz - 1)) | (gpa & (sz - 1));
			out->perm = perm;
			out->memtype = EPTE_MEMTYPE(v);
			out->ignore_pat = (v & EPTE_IGNORE_PAT) != 0;
			out->accessed = (v & EPTE_ACCESSED) != 0;
			out->dirty = (v & EPTE_DIRTY) != 0;
			return EPT_OK;
		}
		table = v & EPTE_ADDR_MASK;
	}
	return EPT_ERR_MISCONFIG; /* not reached: a PTE is always a leaf */
}

uint64_t ept_pointer(const struct ept *e, bool accessed_dirty)
{
	return (e->pml4 & EPTP_ADDR_MASK) | ((uint64_t)EPT_MEMTYPE_WB << EPTP_MEMTYPE_SHIFT) |
	       ((uint64_t)EPTP_WALK_LENGTH_4 << EPTP_WALK_LENGTH_SHIFT) | (accessed_dirty ? EPTP_ACCESSED_DIRTY : 0);
}

const char *ept_memtype_name(unsigned memtype)
{
	switch (memtype) {
	case EPT_MEMTYPE_UC: return "UC";
	case EPT_MEMTYPE_WC: return "WC";
	case EPT_MEMTYPE_WT: return "WT";
	case EPT_MEMTYPE_WP: return "WP";
	case EPT_MEMTYPE_WB: return "WB";
	default: return "reserved";
	}
}
