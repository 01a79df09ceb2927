/*
 * Extended page tables: building the GPA -> HPA map of a guest and walking it
 * in software (SDM Vol. 3C 29.3 "The extended page table mechanism").
 *
 * Only 4-level EPT is built (SDM 29.3.2).  Every access to a table goes
 * through the callbacks in struct ept, so the logic is pure and unit-tested on
 * the host (tests/unit/test_ept.c).  The tables are the monitor's: the guest
 * never sees them.  After ept_unmap() or ept_set_perm() on a live EPT, the
 * caller must INVEPT (SDM 29.4.3.1); ept_map() only fills empty slots and
 * needs no invalidation.
 */
#ifndef VMM_EPT_H
#define VMM_EPT_H

#include <stdbool.h>
#include <stdint.h>

/* Geometry of 4-level EPT (SDM 29.3.2). */
#define EPT_LEVELS        4u
#define EPT_TABLE_ENTRIES 512u
#define EPT_INDEX_BITS    9u
#define EPT_PAGE_SHIFT    12u
#define EPT_PAGE_SIZE     (1ull << EPT_PAGE_SHIFT)        /* 4 KiB, a PTE leaf */
#define EPT_PAGE_SIZE_2M  (1ull << 21)                    /* a PDE leaf */
#define EPT_PAGE_SIZE_1G  (1ull << 30)                    /* a PDPTE leaf */
#define EPT_GPA_BITS      48u                             /* 4 levels translate 48 bits */
#define EPT_MAX_PHYS_BITS 52u                             /* architectural MAXPHYADDR limit */

/* Levels as numbered in this code: 1 = EPT PT, 2 = PD, 3 = PDPT, 4 = PML4. */
enum ept_level { EPT_LEVEL_PT = 1, EPT_LEVEL_PD = 2, EPT_LEVEL_PDPT = 3, EPT_LEVEL_PML4 = 4 };

/* Bits of an EPT paging-structure entry (SDM 29.3.2, Tables 29-1 .. 29-6). */
#define EPTE_READ         (1ull << 0)
#define EPTE_WRITE        (1ull << 1)
#define EPTE_EXEC         (1ull << 2)  /* supervisor-mode execute when mode-based execute is on */
#define EPTE_PERM_MASK    (EPTE_READ | EPTE_WRITE | EPTE_EXEC)
#define EPTE_MEMTYPE_SHIFT 3           /* leaf only: EPT memory type, bits 5:3 */
#define EPTE_MEMTYPE_MASK (7ull << EPTE_MEMTYPE_SHIFT)
#define EPTE_IGNORE_PAT   (1ull << 6)  /* leaf only */
#define EPTE_LARGE_PAGE   (1ull << 7)  /* PDPTE / PDE: maps a 1 GiB / 2 MiB page */
#define EPTE_ACCESSED     (1ull << 8)  /* set by the CPU when EPTP bit 6 is set (SDM 29.3.5) */
#define EPTE_DIRTY        (1ull << 9)  /* leaf only, idem */
#define EPTE_USER_EXEC    (1ull << 10) /* user-mode execute (mode-based execute control only) */
#define EPTE_SUPPRESS_VE  (1ull << 63)
#define EPTE_ADDR_MASK    0x000ffffffffff000ull /* bits 51:12 */

/* Permissions as taken and returned by the API: the same values as the entry bits. */
#define EPT_READ  ((unsigned)EPTE_READ)
#define EPT_WRITE ((unsigned)EPTE_WRITE)
#define EPT_EXEC  ((unsigned)EPTE_EXEC)
#define EPT_RWX   (EPT_READ | EPT_WRITE | EPT_EXEC)

/* EPT memory types (SDM 29.3.7); 2, 3 and 7 are reserved (SDM 29.3.3.1). */
#define EPT_MEMTYPE_UC 0u
#define EPT_MEMTYPE_WC 1u
#define EPT_MEMTYPE_WT 4u
#define EPT_MEMTYPE_WP 5u
#define EPT_MEMTYPE_WB 6u
/* OR into ept_map()'s memtype to set the ignore-PAT bit in the leaves. */
#define EPT_MAP_IGNORE_PAT 0x100u

/* EPT pointer (SDM 25.6.11, Table 25-9). */
#define EPTP_MEMTYPE_SHIFT      0
#define EPTP_WALK_LENGTH_SHIFT  3      /* page-walk length minus 1, bits 5:3 */
#define EPTP_ACCESSED_DIRTY     (1ull << 6)
#define EPTP_ADDR_MASK          EPTE_ADDR_MASK

/* Results (0 is success). */
enum ept_error {
	EPT_OK = 0,
	EPT_ERR_NOT_MAPPED = -1,   /* the walk met a not-present entry (an EPT violation) */
	EPT_ERR_MISCONFIG = -2,    /* the walk met a misconfigured entry (SDM 29.3.3.1) */
	EPT_ERR_NO_MEMORY = -3,    /* alloc_table failed (or returned an unaligned address) */
	EPT_ERR_MAPPED = -4,       /* ept_map: part of the range is already mapped */
	EPT_ERR_INVALID = -5,      /* bad argument: unaligned, empty, wraps, beyond 48-bit GPA, bad perm/type */
	EPT_ERR_SPLIT = -6,        /* a range boundary falls inside a large page (no splitting) */
};

struct ept {
	uint64_t pml4; /* HPA of the PML4 table, set by ept_init() */
	/* HPA of a zeroed, 4 KiB-aligned page for a new table, or 0 on failure. */
	uint64_t (*alloc_table)(void *ctx);
	/* Monitor pointer to the host-physical address hpa. */
	void *(*hpa_to_ptr)(void *ctx, uint64_t hpa);
	void *ctx;
	bool allow_2m;        /* use 2 MiB leaves (IA32_VMX_EPT_VPID_CAP bit 16) */
	bool allow_1g;        /* use 1 GiB leaves (bit 17); a 1 GiB leaf found when false is a misconfiguration */
	bool allow_exec_only; /* execute-only entries are legal (bit 0); else they are misconfigurations */
	unsigned maxphyaddr;  /* host MAXPHYADDR (CPUID.80000008h:EAX[7:0]); 0 means EPT_MAX_PHYS_BITS */
	unsigned table_pages; /* tables allocated so far, PML4 included */
};

/* Result of a software walk. */
struct ept_walk {
	uint64_t hpa;       /* host-physical address of the gpa asked for */
	uint64_t entry;     /* the leaf entry; on failure, the not-present or misconfigured entry */
	uint64_t entry_hpa; /* where that entry lives */
	uint64_t page_size; /* EPT_PAGE_SIZE, EPT_PAGE_SIZE_2M or EPT_PAGE_SIZE_1G */
	unsigned perm;      /* EPT_READ|EPT_WRITE|EPT_EXEC allowed at every level (SDM 29.3.3.2) */
	unsigned memtype;   /* EPT memory type of the leaf */
	bool ignore_pat, accessed, dirty;
	unsigned level;     /* enum ept_level of the leaf, or of the entry where the walk stopped */
};

/*
 * Allocate the PML4 (table_pages = 1).  alloc_table and hpa_to_ptr must be set.
 * Returns EPT_OK, EPT_ERR_INVALID or EPT_ERR_NO_MEMORY.
 */
int ept_init(struct ept *e);

/*
 * Map [gpa, gpa + size) to [hpa, hpa + size) with perm (EPT_READ|EPT_WRITE|EPT_EXEC)
 * and an EPT memory type (optionally | EPT_MAP_IGNORE_PAT).  gpa, hpa and size must
 * be 4 KiB aligned, size > 0, neither range may wrap, gpa + size <= 2^48 and
 * hpa + size <= 2^maxphyaddr.  perm must be a legal combination (not write without
 * read; execute-only only with allow_exec_only), memtype UC/WC/WT/WP/WB.
 * Each piece gets the largest leaf (1 GiB if allow_1g, 2 MiB if allow_2m, else 4 KiB)
 * that the alignment of gpa and hpa and the remaining size allow; where an existing
 * table already covers a slot, smaller leaves are used inside it.
 * If any page of the range is already mapped, returns EPT_ERR_MAPPED and changes
 * nothing.  If a table allocation fails, the leaves written so far are removed again
 * (the new, empty tables stay, counted in table_pages) and EPT_ERR_NO_MEMORY is returned.
 */
int ept_map(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t size, unsigned perm, unsigned memtype);

/*
 * Remove every leaf inside [gpa, gpa + size) (4 KiB aligned; holes are fine).
 * Tables are not freed.  Returns EPT_OK, EPT_ERR_INVALID, or EPT_ERR_SPLIT (and
 * changes nothing) if a large leaf straddles either end of the range.
 * The caller must INVEPT afterwards.
 */
int ept_unmap(struct ept *e, uint64_t gpa, uint64_t size);

/*
 * Change the permissions of every leaf of [gpa, gpa + size) (4 KiB aligned) to perm,
 * keeping address, memory type and the other bits.  Leaves of any size are changed as
 * long as they lie wholly inside the range.  Checks first, then changes: returns
 * EPT_ERR_NOT_MAPPED if part of the range is not mapped, EPT_ERR_SPLIT if a large
 * leaf straddles an end of the range, EPT_ERR_INVALID for bad arguments — in all
 * these cases nothing is changed.  The caller must INVEPT afterwards.
 */
int ept_set_perm(struct ept *e, uint64_t gpa, uint64_t size, unsigned perm);

/*
 * Translate gpa as the CPU would (SDM 29.3.3): EPT_OK and *out filled;
 * EPT_ERR_NOT_MAPPED (an entry with bits 2:0 clear; out->level/entry say where);
 * EPT_ERR_MISCONFIG (write without read, execute-only when not allowed, reserved
 * bits set, reserved memory type 2/3/7, a large page where none is allowed, an
 * address above maxphyaddr; SDM 29.3.3.1); EPT_ERR_INVALID if gpa >= 2^48.
 */
int ept_translate(const struct ept *e, uint64_t gpa, struct ept_walk *out);

/*
 * The EPT pointer for the VMCS (SDM 25.6.11): PML4 address, memory type WB,
 * page-walk length 4 (encoded as 3 in bits 5:3), bit 6 = accessed/dirty enable.
 */
uint64_t ept_pointer(const struct ept *e, bool accessed_dirty);

/* Short name of an EPT memory type ("WB"), "reserved" for 2/3/7. */
const char *ept_memtype_name(unsigned memtype);

#endif
