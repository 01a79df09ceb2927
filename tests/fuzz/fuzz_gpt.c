/*
 * libFuzzer harness: the guest page-table walker (vmm/mm/guest/gpt.c).
 * Random paging structures in a fake guest memory (as tests/unit/test_gpt.c
 * fakes it): GMEM_SIZE bytes taken from the input, seen at every guest-physical
 * address below GMEM_ALIAS_LIMIT (the address folded modulo GMEM_SIZE, so
 * random table addresses still land in it); above that, read_pte fails.
 *
 * Input: paging controls (CR0.PG/WP, CR4.PSE/PAE/LA57/SMEP/SMAP, EFER.LMA/NXE,
 * RFLAGS.AC, 1 GiB-page support), CR3, MAXPHYADDR, the PAE PDPTE registers, the GVA, the access
 * and whether to set A/D flags; the rest is guest memory.
 *
 * Properties: the walker agrees with an independent reference walk written
 * from SDM Vol. 3A 4.3-4.7 below (result, GPA, page size, levels read, leaf
 * entry, #PF error code, effective rights); with A/D updates, a successful
 * walk sets A in every entry used (not in PAE PDPTEs) and D in the leaf for
 * a write, changes nothing else, and a failed walk changes no memory;
 * gpt_pae_pdpte_valid agrees with Table 4-8 for the PDPTE registers.
 */
#include <stdbool.h>
#include "fuzz.h"
#include "arch/cr.h"
#include "arch/msr.h"
#include "arch/paging.h"
#include "vmm/gpt.h"

#define GMEM_SIZE        (4 * PAGE_SIZE)
#define GMEM_ALIAS_LIMIT (1ull << 36)

static uint8_t gmem[GMEM_SIZE], before[GMEM_SIZE];

static uint64_t fold(uint64_t gpa) { return gpa % GMEM_SIZE; }

static int rd(void *ctx, uint64_t gpa, uint64_t *val, unsigned size)
{
	(void)ctx;
	FUZZ_CHECK(size == 4 || size == 8);
	FUZZ_CHECK(gpa % size == 0); /* entries are naturally aligned */
	if (gpa >= GMEM_ALIAS_LIMIT)
		return -1;
	uint64_t v = 0;
	memcpy(&v, gmem + fold(gpa), size);
	*val = v;
	return 0;
}

static int wr(void *ctx, uint64_t gpa, uint64_t val, unsigned size)
{
	(void)ctx;
	FUZZ_CHECK(size == 4 || size == 8);
	if (gpa >= GMEM_ALIAS_LIMIT)
		return -1;
	/* write_pte ORs in the A/D bits to set (vmm/gpt.h). */
	uint64_t old = 0;
	memcpy(&old, gmem + fold(gpa), size);
	old |= val;
	memcpy(gmem + fold(gpa), &old, size);
	return 0;
}

/* ---- reference walk (SDM Vol. 3A 4.3 32-bit, 4.4 PAE, 4.5 4-level, 4.6 rights, 4.7 #PF) ---- */

struct ref {
	int rc;
	uint64_t gpa, page_size, leaf, leaf_gpa;
	unsigned levels;
	uint32_t ec;
	bool w, u, nx;
	uint64_t used_gpa[4];
	unsigned used_size[4];
	bool used_pdpte[4];
};

/* Bits hi..lo (inclusive); empty when hi < lo. */
static uint64_t bits(unsigned hi, unsigned lo)
{
	if (hi < lo)
		return 0;
	uint64_t top = hi >= 63 ? ~0ull : (1ull << (hi + 1)) - 1;
	return top & ~((1ull << lo) - 1);
}

static void ref_walk(const struct gpt_cpu *c, uint64_t gva, unsigned access, struct ref *r)
{
	memset(r, 0, sizeof(*r));
	const bool pg = c->cr0 & CR0_PG, pae = c->cr4 & CR4_PAE, lma = c->efer & EFER_LMA;
	const bool nxe = c->efer & EFER_NXE, user = access & GPT_ACCESS_USER, write = access & GPT_ACCESS_WRITE;
	const bool fetch = access & GPT_ACCESS_FETCH;
	const unsigned m = (c->maxphyaddr == 0 || c->maxphyaddr > 52) ? 52 : c->maxphyaddr;
	if ((lma && (!pg || !pae)) || (pg && pae && lma && (c->cr4 & CR4_LA57))) {
		r->rc = GPT_UNSUPPORTED;
		return;
	}
	if (pg && pae && lma) {
		const uint64_t hi = gva >> 47;
		if (hi != 0 && hi != (1ull << 17) - 1) {
			r->rc = GPT_NONCANONICAL;
			return;
		}
	} else if (gva >> 32) {
		r->rc = GPT_NONCANONICAL;
		return;
	}
	if (!pg) {
		r->gpa = gva;
		r->page_size = PAGE_SIZE;
		return;
	}
	uint32_t ec = (write ? PF_EC_WRITE : 0) | (user ? PF_EC_USER : 0);
	if (fetch && ((c->cr4 & CR4_SMEP) || (pae && nxe)))
		ec |= PF_EC_FETCH;
	r->w = r->u = true;

	/* Per mode: entry size, bits of GVA per level (top first), the first table. */
	unsigned esize, nlev;
	unsigned shift[4];
	uint64_t table;
	if (!pae) {
		esize = 4, nlev = 2, shift[0] = 22, shift[1] = 12;
		table = c->cr3 & bits(31, 12);
	} else if (!lma) {
		esize = 8, nlev = 3, shift[0] = 30, shift[1] = 21, shift[2] = 12;
		table = c->cr3 & bits(31, 5);
	} else {
		esize = 8, nlev = 4, shift[0] = 39, shift[1] = 30, shift[2] = 21, shift[3] = 12;
		table = c->cr3 & bits(m - 1, 12);
	}
	for (unsigned i = 0; i < nlev; i++) {
		const unsigned level = nlev - i; /* 4 = PML4 ... 1 = PT */
		const bool pdpte_reg = pae && !lma && i == 0;
		const uint64_t index_mask = pdpte_reg ? 3 : (esize == 4 ? 0x3ff : 0x1ff);
		const uint64_t idx = (gva >> shift[i]) & index_mask;
		const uint64_t egpa = table + idx * esize;
		uint64_t v;
		if (pdpte_reg && c->pdptes_valid) {
			v = c->pdpte[idx];
		} else if (rd(NULL, egpa, &v, esize) != 0) {
			r->rc = GPT_BAD_GPA;
			return;
		}
		r->used_gpa[r->levels] = egpa;
		r->used_size[r->levels] = esize;
		r->used_pdpte[r->levels] = pdpte_reg;
		r->levels++;
		r->leaf = v, r->leaf_gpa = egpa;
		if (!(v & PTE_P)) {
			r->rc = GPT_PAGE_FAULT, r->ec = ec;
			return;
		}
		const bool ps = v & PTE_PS;
		bool leaf = level == 1;
		uint64_t rsvd = 0, size = 1ull << shift[i];
		if (!pae) {
			if (level == 2 && ps && (c->cr4 & CR4_PSE)) {
				/* 4 MiB page: bits 20:13 hold address bits 39:32 (PSE-36), bit 21 reserved (Table 4-4). */
				const unsigned w = m < 32 ? 32 : m > 40 ? 40 : m;
				rsvd = bits(21, 13 + (w - 32));
				leaf = true;
			}
		} else if (pdpte_reg) {
			rsvd = bits(2, 1) | bits(8, 5) | bits(63, m); /* Table 4-8 */
		} else {
			rsvd = bits(lma ? 51 : 62, m) | (nxe ? 0 : PTE_NX);
			if (lma && level == 4)
				rsvd |= PTE_PS;
			if (lma && level == 3 && !c->page_1g)
				rsvd |= PTE_PS; /* no 1 GiB pages on this CPU (SDM 4.5.4) */
			if (ps && (level == 2 || (lma && level == 3 && c->page_1g))) {
				rsvd |= bits(shift[i] - 1, 13);
				leaf = true;
			}
		}
		if (v & rsvd) {
			r->rc = GPT_PAGE_FAULT, r->ec = ec | PF_EC_PRESENT | PF_EC_RSVD;
			return;
		}
		if (!pdpte_reg) {
			r->w = r->w && (v & PTE_W);
			r->u = r->u && (v & PTE_U);
			r->nx = r->nx || (nxe && (v & PTE_NX));
		}
		if (leaf) {
			uint64_t base;
			if (!pae && level == 2)
				base = (v & bits(31, 22)) | (((v >> 13) & 0xff) << 32);
			else if (!pae)
				base = v & bits(31, 12);
			else
				base = v & bits(m - 1, 12) & ~(size - 1);
			r->gpa = base | (gva & (size - 1));
			r->page_size = size;
			break;
		}
		table = pae ? (v & bits(m - 1, 12)) : (v & bits(31, 12));
	}
	bool ok = true;
	if (user && !r->u)
		ok = false;
	if (write && !r->w && (user || (c->cr0 & CR0_WP)))
		ok = false;
	if (fetch && r->nx)
		ok = false;
	if (!user && r->u && fetch && (c->cr4 & CR4_SMEP))
		ok = false;
	if (!user && r->u && !fetch && (c->cr4 & CR4_SMAP) && !c->rflags_ac)
		ok = false;
	if (!ok)
		r->rc = GPT_PAGE_FAULT, r->ec = ec | PF_EC_PRESENT;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	struct gpt_cpu c = { 0 };
	const unsigned ctl = fuzz_u16(&in);
	c.cr0 = ((ctl & 1) ? CR0_PG : 0) | ((ctl & 2) ? CR0_WP : 0);
	c.cr4 = ((ctl & 4) ? CR4_PSE : 0) | ((ctl & 8) ? CR4_PAE : 0) | ((ctl & 16) ? CR4_LA57 : 0) |
		((ctl & 32) ? CR4_SMEP : 0) | ((ctl & 64) ? CR4_SMAP : 0);
	c.efer = ((ctl & 128) ? EFER_LMA : 0) | ((ctl & 256) ? EFER_NXE : 0);
	c.rflags_ac = ctl & 512;
	c.pdptes_valid = ctl & 1024;
	const bool set_ad = ctl & 2048;
	c.page_1g = ctl & 4096;
	c.cr3 = fuzz_u64(&in);
	c.maxphyaddr = fuzz_u8(&in) & 63;
	for (unsigned i = 0; i < GPT_PAE_PDPTES; i++)
		c.pdpte[i] = c.pdptes_valid ? fuzz_u64(&in) : 0;
	const uint64_t gva = fuzz_u64(&in);
	const unsigned access = fuzz_u8(&in) & (GPT_ACCESS_WRITE | GPT_ACCESS_USER | GPT_ACCESS_FETCH);
	memset(gmem, 0, sizeof(gmem));
	memcpy(gmem, in.data, in.size < GMEM_SIZE ? in.size : GMEM_SIZE);
	memcpy(before, gmem, sizeof(gmem));

	/* The PDPTE check made when the registers are loaded (SDM 4.4.1, Table 4-8). */
	for (unsigned i = 0; i < GPT_PAE_PDPTES; i++) {
		const unsigned m = (c.maxphyaddr == 0 || c.maxphyaddr > 52) ? 52 : c.maxphyaddr;
		const bool reserved = c.pdpte[i] & (bits(2, 1) | bits(8, 5) | bits(63, m));
		FUZZ_CHECK(gpt_pae_pdpte_valid(c.pdpte[i], c.maxphyaddr) == (!(c.pdpte[i] & PTE_P) || !reserved));
	}

	struct ref r;
	ref_walk(&c, gva, access, &r);
	const struct gpt_ops ops = { rd, wr, NULL };
	struct gpt_walk w;
	const int rc = gpt_translate(&c, &ops, gva, access, set_ad, &w);
	if (getenv("FUZZ_VERBOSE"))
		fprintf(stderr, "mode %d gva %#llx access %u: rc %d (reference %d) gpa %#llx levels %u ec %#x\n", w.mode,
			(unsigned long long)gva, access, rc, r.rc, (unsigned long long)w.gpa, w.levels, w.pf_error_code);
	FUZZ_CHECK(rc == r.rc);
	FUZZ_CHECK(w.mode == gpt_mode_of(&c));
	if (rc == GPT_OK || rc == GPT_PAGE_FAULT) {
		FUZZ_CHECK(w.levels == r.levels);
		if (r.levels)
			FUZZ_CHECK(w.leaf_pte == r.leaf && w.leaf_pte_gpa == r.leaf_gpa);
	}
	if (rc == GPT_PAGE_FAULT) {
		FUZZ_CHECK(w.pf_error_code == r.ec);
		FUZZ_CHECK(memcmp(gmem, before, sizeof(gmem)) == 0); /* a failing access changes nothing */
	}
	if (rc != GPT_OK)
		return 0;
	FUZZ_CHECK(w.gpa == r.gpa && w.page_size == r.page_size);
	FUZZ_CHECK(w.gpa % w.page_size == gva % w.page_size);
	if (r.levels)
		FUZZ_CHECK(w.writable == r.w && w.user == r.u && w.nx == r.nx);
	if (!set_ad) {
		FUZZ_CHECK(memcmp(gmem, before, sizeof(gmem)) == 0);
		return 0;
	}
	/* SDM 4.8: A in every entry used, D in the leaf on a write; entries may alias, so check after all writes. */
	for (unsigned i = 0; i < r.levels; i++) {
		if (r.used_pdpte[i])
			continue;
		uint64_t v = 0;
		memcpy(&v, gmem + fold(r.used_gpa[i]), r.used_size[i]);
		FUZZ_CHECK(v & PTE_A);
		if (i + 1 == r.levels && (access & GPT_ACCESS_WRITE))
			FUZZ_CHECK(v & PTE_D);
	}
	/* Only A and D bits of the entries used changed (both live in an entry's first byte). */
	for (size_t b = 0; b < GMEM_SIZE; b++) {
		bool entry_low_byte = false;
		for (unsigned i = 0; i < r.levels; i++)
			entry_low_byte |= !r.used_pdpte[i] && fold(r.used_gpa[i]) == b;
		const uint8_t ad = entry_low_byte ? (uint8_t)(PTE_A | PTE_D) : 0;
		FUZZ_CHECK((gmem[b] & ~ad) == (before[b] & ~ad));
	}
	return 0;
}
