/*
 * libFuzzer harness: the EPT builder (vmm/mm/guest/ept.c) with host memory types
 * (vmm/mm/guest/ept_mtrr.c over vmm/mm/guest/mtrr.c).
 *
 * Input: the EPT capabilities (2 MiB / 1 GiB leaves, execute-only, MAXPHYADDR),
 * a table budget (alloc_table fails once it is spent), an MTRR state (enable
 * bits, default type, variable ranges, fixed ranges), then a sequence of
 * operations: ept_map, ept_map_with_mtrr_types, ept_unmap, ept_set_perm, on
 * ranges of random placement and size (4 KiB, 2 MiB and 1 GiB units).
 *
 * The harness keeps a model: a list of disjoint mapped intervals (GPA, HPA,
 * permissions, memory type).  After every failed operation, and at the end:
 *  - the result is the one the model predicts: a map succeeds unless it is
 *    invalid, overlaps a mapped page (EPT_ERR_MAPPED) or runs out of tables;
 *    set_perm fails with EPT_ERR_NOT_MAPPED exactly when a page is unmapped;
 *  - a failed operation changes no mapping (map, map_with_mtrr_types, unmap,
 *    set_perm all promise it, or promise to remove what they wrote);
 *  - a walk of the whole EPT finds exactly the model: every leaf lies inside
 *    one interval with the right HPA, permissions and memory type (with
 *    MTRRs: the type mtrr_type_of_range gives the leaf's host range), leaves
 *    never overlap, and they cover the model's bytes exactly;
 *  - ept_translate agrees with the model at the ends of every interval and
 *    just outside them.
 */
#include <stdbool.h>
#include "fuzz.h"
#include "vmm/ept.h"
#include "vmm/ept_mtrr.h"
#include "vmm/mtrr.h"

#define POOL_PAGES     96
#define POOL_HPA       0x40000000ull /* where the fake host puts the table pool */
#define MODEL_MAX      512
#define MAX_OPS        12
#define MAX_VAR_MTRRS  8
#define MEMTYPE_BY_MTRR 0xffu        /* model: the memory type comes from the MTRRs */
#define MEMTYPE_CHOICES 8u

static _Alignas(4096) uint8_t pool[POOL_PAGES][EPT_PAGE_SIZE];
static unsigned pool_used, pool_budget;

static uint64_t alloc_table(void *ctx)
{
	(void)ctx;
	if (pool_used >= pool_budget || pool_used >= POOL_PAGES)
		return 0;
	memset(pool[pool_used], 0xa5, EPT_PAGE_SIZE); /* not zeroed: ept.c must zero it */
	return POOL_HPA + (uint64_t)pool_used++ * EPT_PAGE_SIZE;
}

static void *hpa_to_ptr(void *ctx, uint64_t hpa)
{
	(void)ctx;
	FUZZ_CHECK(hpa >= POOL_HPA && hpa < POOL_HPA + (uint64_t)pool_used * EPT_PAGE_SIZE && hpa % EPT_PAGE_SIZE == 0);
	return pool[(hpa - POOL_HPA) / EPT_PAGE_SIZE];
}

/* ---- the model ---- */
struct interval {
	uint64_t gpa, hpa, len;
	unsigned perm, memtype; /* memtype MEMTYPE_BY_MTRR: per leaf, from the MTRRs */
};
static struct interval model[MODEL_MAX];
static unsigned nmodel;
static struct mtrr_state mtrr;

static bool model_overlaps(uint64_t gpa, uint64_t len)
{
	for (unsigned i = 0; i < nmodel; i++)
		if (gpa < model[i].gpa + model[i].len && model[i].gpa < gpa + len)
			return true;
	return false;
}

/* Bytes of [gpa, gpa + len) the model maps. */
static uint64_t model_covered(uint64_t gpa, uint64_t len)
{
	uint64_t n = 0;
	for (unsigned i = 0; i < nmodel; i++) {
		uint64_t b = model[i].gpa > gpa ? model[i].gpa : gpa;
		uint64_t e = model[i].gpa + model[i].len < gpa + len ? model[i].gpa + model[i].len : gpa + len;
		if (b < e)
			n += e - b;
	}
	return n;
}

/* Split the interval holding addr strictly inside, so addr is an interval boundary. */
static void model_split(uint64_t addr)
{
	for (unsigned i = 0; i < nmodel; i++) {
		struct interval *v = &model[i];
		if (addr > v->gpa && addr < v->gpa + v->len) {
			FUZZ_CHECK(nmodel < MODEL_MAX);
			struct interval tail = *v;
			const uint64_t head = addr - v->gpa;
			v->len = head;
			tail.gpa += head, tail.hpa += head, tail.len -= head;
			model[nmodel++] = tail;
			return;
		}
	}
}

static void model_remove(uint64_t gpa, uint64_t len)
{
	model_split(gpa);
	model_split(gpa + len);
	for (unsigned i = 0; i < nmodel;) {
		if (model[i].gpa >= gpa && model[i].gpa + model[i].len <= gpa + len)
			model[i] = model[--nmodel];
		else
			i++;
	}
}

static const struct interval *model_find(uint64_t gpa)
{
	for (unsigned i = 0; i < nmodel; i++)
		if (gpa >= model[i].gpa && gpa - model[i].gpa < model[i].len)
			return &model[i];
	return NULL;
}

/* ---- checks ---- */
static uint64_t leaf_bytes;

static void check_leaf(const struct ept *e, uint64_t gpa, uint64_t v, uint64_t size)
{
	const struct interval *iv = model_find(gpa);
	FUZZ_CHECK(iv != NULL);
	FUZZ_CHECK(size <= iv->len && gpa - iv->gpa <= iv->len - size); /* the whole leaf inside one interval */
	const uint64_t hpa = v & EPTE_ADDR_MASK & ~(size - 1);
	FUZZ_CHECK(hpa == iv->hpa + (gpa - iv->gpa));
	FUZZ_CHECK((v & EPTE_PERM_MASK) == iv->perm);
	const unsigned mt = (unsigned)((v & EPTE_MEMTYPE_MASK) >> EPTE_MEMTYPE_SHIFT);
	if (iv->memtype == MEMTYPE_BY_MTRR)
		FUZZ_CHECK(mtrr_type_of_range(&mtrr, hpa, size) == (int)mt);
	else
		FUZZ_CHECK(mt == iv->memtype);
	FUZZ_CHECK(size == EPT_PAGE_SIZE || (size == EPT_PAGE_SIZE_2M && e->allow_2m) ||
		   (size == EPT_PAGE_SIZE_1G && e->allow_1g));
	leaf_bytes += size;
}

/* Walk every table: leaves are visited in GPA order and so cannot overlap. */
static void walk_table(const struct ept *e, uint64_t table, unsigned level, uint64_t base)
{
	const uint64_t *t = hpa_to_ptr(NULL, table);
	const uint64_t span = 1ull << (EPT_PAGE_SHIFT + EPT_INDEX_BITS * (level - 1));
	for (unsigned i = 0; i < EPT_TABLE_ENTRIES; i++) {
		const uint64_t v = t[i];
		if (!(v & EPTE_PERM_MASK))
			continue;
		const uint64_t gpa = base + i * span;
		if (level == EPT_LEVEL_PT || (v & EPTE_LARGE_PAGE)) {
			FUZZ_CHECK(level <= EPT_LEVEL_PDPT);
			check_leaf(e, gpa, v, span);
		} else {
			FUZZ_CHECK((v & EPTE_PERM_MASK) == EPTE_PERM_MASK); /* tables allow everything */
			walk_table(e, v & EPTE_ADDR_MASK, level - 1, gpa);
		}
	}
}

static void probe(const struct ept *e, uint64_t gpa)
{
	if (gpa >= (1ull << EPT_GPA_BITS))
		return;
	struct ept_walk w;
	const int rc = ept_translate(e, gpa, &w);
	const struct interval *iv = model_find(gpa);
	if (!iv) {
		FUZZ_CHECK(rc == EPT_ERR_NOT_MAPPED);
		return;
	}
	FUZZ_CHECK(rc == EPT_OK);
	FUZZ_CHECK(w.hpa == iv->hpa + (gpa - iv->gpa) && w.perm == iv->perm);
}

static void check_all(const struct ept *e)
{
	leaf_bytes = 0;
	walk_table(e, e->pml4, EPT_LEVEL_PML4, 0);
	uint64_t model_bytes = 0;
	for (unsigned i = 0; i < nmodel; i++) {
		const struct interval *iv = &model[i];
		model_bytes += iv->len;
		probe(e, iv->gpa);
		probe(e, iv->gpa + iv->len - EPT_PAGE_SIZE);
		probe(e, iv->gpa + iv->len);
		if (iv->gpa)
			probe(e, iv->gpa - EPT_PAGE_SIZE);
	}
	FUZZ_CHECK(leaf_bytes == model_bytes);
}

/* ---- input ---- */
static uint64_t take_addr(struct fuzz_input *in)
{
	/* 4 KiB pages in the first GiBs, or anywhere up to bit 52 now and then. */
	const uint8_t how = fuzz_u8(in);
	uint64_t a = ((uint64_t)(how & 0x7) << 30) /* GiB */ | ((uint64_t)fuzz_u16(in) << EPT_PAGE_SHIFT);
	if (how & 0x80)
		a |= (uint64_t)fuzz_u8(in) << 40;
	return a;
}

static uint64_t take_size(struct fuzz_input *in)
{
	const uint8_t unit = fuzz_u8(in);
	const uint64_t n = fuzz_u8(in) % 8 + 1;
	switch (unit % 4) {
	case 0: return n * EPT_PAGE_SIZE;
	case 1: return (n * 64 + fuzz_u8(in)) * EPT_PAGE_SIZE;
	case 2: return n * EPT_PAGE_SIZE_2M + (unit & 0x80 ? EPT_PAGE_SIZE : 0);
	default: return (n % 3 + 1) * EPT_PAGE_SIZE_1G + (unit & 0x80 ? EPT_PAGE_SIZE_2M : 0);
	}
}

enum op { OP_MAP, OP_MAP_MTRR, OP_UNMAP, OP_SET_PERM, OP_COUNT };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	struct ept e = { 0 };
	const uint8_t caps = fuzz_u8(&in);
	e.allow_2m = caps & 1;
	e.allow_1g = caps & 2;
	e.allow_exec_only = caps & 4;
	e.maxphyaddr = fuzz_u8(&in) % 64;
	e.alloc_table = alloc_table;
	e.hpa_to_ptr = hpa_to_ptr;
	pool_used = 0;
	pool_budget = fuzz_u8(&in) % (POOL_PAGES + 1);
	nmodel = 0;

	memset(&mtrr, 0, sizeof(mtrr));
	const uint8_t m = fuzz_u8(&in);
	mtrr.enabled = m & 1;
	mtrr.fixed_supported = m & 2;
	mtrr.fixed_enabled = m & 4;
	mtrr.default_type = fuzz_u8(&in) % MEMTYPE_CHOICES;
	mtrr.phys_bits = fuzz_u8(&in) % 64;
	mtrr.var_count = fuzz_u8(&in) % (MAX_VAR_MTRRS + 1);
	for (unsigned i = 0; i < mtrr.var_count; i++) {
		mtrr.var[i].base = take_addr(&in);
		/* A mask of high ones (a power-of-two range), with a random low bit or two cleared. */
		const unsigned k = fuzz_u8(&in) % 40 + 12;
		mtrr.var[i].mask = (~0ull << k) & ((1ull << 52) - 1);
		mtrr.var[i].mask &= ~((uint64_t)fuzz_u8(&in) << 30);
		mtrr.var[i].type = fuzz_u8(&in) % MEMTYPE_CHOICES;
		mtrr.var[i].valid = true;
	}
	if (mtrr.fixed_supported)
		for (unsigned i = 0; i < MTRR_FIXED_RANGES; i += 8)
			memset(&mtrr.fixed[i], fuzz_u8(&in) % MEMTYPE_CHOICES, 8);

	const unsigned phys = e.maxphyaddr ? e.maxphyaddr > EPT_MAX_PHYS_BITS ? EPT_MAX_PHYS_BITS : e.maxphyaddr
					   : EPT_MAX_PHYS_BITS;
	if (ept_init(&e) != EPT_OK) {
		/* Only without memory, or when the pool itself lies above MAXPHYADDR. */
		FUZZ_CHECK(pool_budget == 0 || POOL_HPA + POOL_PAGES * EPT_PAGE_SIZE > (1ull << phys));
		return 0;
	}
	const bool verbose = getenv("FUZZ_VERBOSE") != NULL;
	if (verbose)
		fprintf(stderr, "caps %#x maxphyaddr %u budget %u mtrr phys_bits %u\n", caps, e.maxphyaddr, pool_budget,
			mtrr.phys_bits);
	for (unsigned op = 0; op < MAX_OPS && in.size > 0; op++) {
		const uint8_t kind = fuzz_u8(&in);
		const uint64_t gpa = take_addr(&in), len = take_size(&in);
		const uint64_t hpa = take_addr(&in);
		const unsigned perm = fuzz_u8(&in) & EPT_RWX;
		const unsigned memtype = fuzz_u8(&in) % MEMTYPE_CHOICES;
		const bool valid_perm = perm && !((perm & EPT_WRITE) && !(perm & EPT_READ)) &&
					(perm != EPT_EXEC || e.allow_exec_only);
		const bool valid_range = gpa + len <= (1ull << EPT_GPA_BITS) && hpa + len <= (1ull << phys);
		int rc;
		switch (kind % OP_COUNT) {
		case OP_MAP: {
			const bool valid_mt = memtype != 2 && memtype != 3 && memtype != 7;
			rc = ept_map(&e, gpa, hpa, len, perm, memtype);
			if (verbose)
				fprintf(stderr, "map -> %d\n", rc);
			if (!valid_perm || !valid_range || !valid_mt)
				FUZZ_CHECK(rc == EPT_ERR_INVALID);
			else if (model_overlaps(gpa, len))
				FUZZ_CHECK(rc == EPT_ERR_MAPPED);
			else
				FUZZ_CHECK(rc == EPT_OK || rc == EPT_ERR_NO_MEMORY);
			if (rc == EPT_OK) {
				FUZZ_CHECK(nmodel < MODEL_MAX);
				model[nmodel++] = (struct interval){ gpa, hpa, len, perm, memtype };
			}
			break;
		}
		case OP_MAP_MTRR: {
			/* Every page of the host range has an MTRR type (it lies below the MTRRs' MAXPHYADDR). */
			const bool typed = mtrr_type_of_range(&mtrr, hpa, EPT_PAGE_SIZE) >= 0 &&
					   mtrr_type_of_range(&mtrr, hpa + len - EPT_PAGE_SIZE, EPT_PAGE_SIZE) >= 0;
			rc = ept_map_with_mtrr_types(&e, &mtrr, gpa, hpa, len, perm);
			if (!valid_perm || !valid_range)
				FUZZ_CHECK(rc != EPT_OK);
			else if (!typed) /* EPT_ERR_INVALID, or whatever error a piece before the untyped one met */
				FUZZ_CHECK(rc == EPT_ERR_INVALID || rc == EPT_ERR_MAPPED || rc == EPT_ERR_NO_MEMORY);
			else if (model_overlaps(gpa, len)) /* a split run maps piece by piece: tables may run out first */
				FUZZ_CHECK(rc == EPT_ERR_MAPPED || rc == EPT_ERR_NO_MEMORY);
			else
				FUZZ_CHECK(rc == EPT_OK || rc == EPT_ERR_NO_MEMORY);
			if (verbose)
				fprintf(stderr, "map_with_mtrr_types -> %d\n", rc);
			if (rc == EPT_OK) {
				FUZZ_CHECK(nmodel < MODEL_MAX);
				model[nmodel++] = (struct interval){ gpa, hpa, len, perm, MEMTYPE_BY_MTRR };
			}
			break;
		}
		case OP_UNMAP:
			rc = ept_unmap(&e, gpa, len);
			if (!valid_range && gpa + len > (1ull << EPT_GPA_BITS))
				FUZZ_CHECK(rc == EPT_ERR_INVALID);
			if (rc == EPT_OK)
				model_remove(gpa, len);
			else
				FUZZ_CHECK(rc == EPT_ERR_SPLIT || rc == EPT_ERR_INVALID);
			break;
		default:
			rc = ept_set_perm(&e, gpa, len, perm);
			if (!valid_perm || gpa + len > (1ull << EPT_GPA_BITS))
				FUZZ_CHECK(rc == EPT_ERR_INVALID);
			else if (model_covered(gpa, len) != len)
				FUZZ_CHECK(rc == EPT_ERR_NOT_MAPPED || rc == EPT_ERR_SPLIT);
			else
				FUZZ_CHECK(rc == EPT_OK || rc == EPT_ERR_SPLIT);
			if (rc == EPT_OK) {
				model_split(gpa);
				model_split(gpa + len);
				for (unsigned i = 0; i < nmodel; i++)
					if (model[i].gpa >= gpa && model[i].gpa + model[i].len <= gpa + len)
						model[i].perm = perm;
			}
			break;
		}
		if (verbose)
			fprintf(stderr, "op %u: kind %u gpa %#llx len %#llx hpa %#llx perm %u mt %u -> %d (tables %u)\n", op,
				kind % OP_COUNT, (unsigned long long)gpa, (unsigned long long)len, (unsigned long long)hpa,
				perm, memtype, rc, pool_used);
		FUZZ_CHECK(e.table_pages == pool_used);
		/* The full walk after every failure (which must change nothing); else once at the end. */
		if (rc != EPT_OK)
			check_all(&e);
	}
	check_all(&e);
	return 0;
}
