/* Shadow page tables as a virtual TLB: see vmm/include/vmm/shadow.h for the design. */
#include <string.h>
#include <arch/cr.h>
#include <arch/msr.h>
#include <arch/paging.h>
#include <arch/segment.h>
#include <arch/vmx_state.h>
#include "vmm/gpt.h"
#include "vmm/guest_mem.h"
#include "vmm/log.h"
#include "vmm/mmu_ops.h" /* MMU_EMULATE_MMIO */
#include "vmm/memory.h"
#include "vmm/memory_setup.h"
#include "vmm/paging.h"
#include "vmm/shadow.h"
#include "vmm/backend.h"
#include "vmm/status.h"
#include "vmm/vlapic.h"

#define PAE_LEVELS        3
#define LONG_MODE_LEVELS  4
#define PAE_PDPT_ENTRIES  4
#define FOUR_GIB          (1ull << 32)
#define LEVEL_SHIFT(l)    (PT_SHIFT + PT_INDEX_BITS * ((l) - 1))
#define LEVEL_INDEX(va, l) (((va) >> LEVEL_SHIFT(l)) & PT_INDEX_MASK)
/* PAE PDPTEs have no R/W, U/S or A bits: those positions are reserved (SDM Vol. 3A 4.4.1). */
#define PAE_PDPTE_FLAGS   PTE_P
#define TABLE_FLAGS       (PTE_P | PTE_W | PTE_U)
/*
 * Shadow leaves record the size of the guest page they came from in bits 11:9,
 * which the CPU ignores in a 4 KiB PTE (SDM Vol. 3A Table 4-20): INVLPG must drop
 * every shadow leaf of a large guest page (SDM Vol. 3A 4.10.4.1).
 */
#define LEAF_SIZE_SHIFT 9
#define LEAF_SIZE_MASK  (7ull << LEAF_SIZE_SHIFT)
enum leaf_size { LEAF_4K, LEAF_2M, LEAF_4M, LEAF_1G };
static const uint64_t leaf_size_bytes[] = { PAGE_SIZE, PAGE_SIZE_2M, 2 * PAGE_SIZE_2M, PAGE_SIZE_1G };
/* Only the vector, type, error-code and valid bits may be re-injected (SDM 25.8.3: bits 30:12 are 0). */

static uint64_t *table(uint64_t hpa) { return phys_to_virt(hpa & PTE_ADDR_MASK); }

static uint64_t alloc_page(struct shadow_state *s)
{
	uint64_t hpa = s->free_list;
	if (hpa) {
		s->free_list = *table(hpa);
	} else {
		if (s->stats.pages_used >= SHADOW_MAX_PAGES)
			return 0;
		/* PAE roots are loaded through a 32-bit CR3: keep every table below 4 GiB. */
		hpa = pmm_alloc(s->pmm, 1, PAGE_SIZE);
		if (hpa == PMM_NO_MEMORY)
			return 0;
		if (hpa >= FOUR_GIB) {
			pmm_free(s->pmm, hpa, 1);
			return 0;
		}
	}
	memset(table(hpa), 0, PAGE_SIZE);
	if (++s->stats.pages_used > s->stats.pages_peak)
		s->stats.pages_peak = s->stats.pages_used;
	return hpa;
}

static void free_page(struct shadow_state *s, uint64_t hpa)
{
	*table(hpa) = s->free_list;
	s->free_list = hpa;
	s->stats.pages_used--;
}

/* Free the tables below entry level `level` of table `hpa` (and the table itself). */
static void free_tables(struct shadow_state *s, uint64_t hpa, unsigned level)
{
	uint64_t *t = table(hpa);
	if (level > 1)
		for (unsigned i = 0; i < PT_ENTRIES; i++)
			if ((t[i] & PTE_P) && !(t[i] & PTE_PS))
				free_tables(s, t[i] & PTE_ADDR_MASK, level - 1);
	free_page(s, hpa);
}

static void free_root(struct shadow_state *s, struct shadow_root *r)
{
	if (r->used)
		free_tables(s, r->top, r->levels);
	r->used = false;
}


static bool guest_paging(const struct vcpu *v) { return (v->guest_cr0 & CR0_PG) != 0; }
static unsigned guest_levels(const struct vcpu *v) { return (v->guest_efer & EFER_LMA) ? LONG_MODE_LEVELS : PAE_LEVELS; }

static struct gpt_cpu guest_cpu(struct vcpu *v)
{
	struct gpt_cpu c;
	vmm_guest_gpt_cpu(v, &c);
	return c;
}

/* Identity root for the paging-off phase: PAE tables, 2 MiB pages where host frames allow. */
int shadow_init(struct shadow_state *s, struct pmm *pmm, const uint64_t *frames, uint64_t guest_size)
{
	const uint64_t pages_per_2m = PAGE_SIZE_2M / PAGE_SIZE;
	memset(s, 0, sizeof(*s));
	s->pmm = pmm;
	s->frames = frames;
	s->guest_size = guest_size;
	s->current = -1;
	if (guest_size > FOUR_GIB)
		return HV_ERR_CMDLINE;
	if (!(s->identity_root = alloc_page(s)))
		return HV_ERR_NO_MEMORY;
	for (uint64_t gpa = 0; gpa < guest_size; gpa += PAGE_SIZE_2M) {
		uint64_t *pdpt = table(s->identity_root), *pd, first = gpa / PAGE_SIZE;
		unsigned i3 = LEVEL_INDEX(gpa, 3), i2 = LEVEL_INDEX(gpa, 2);
		bool contiguous = guest_size - gpa >= PAGE_SIZE_2M && frames[first] % PAGE_SIZE_2M == 0;
		for (uint64_t k = 1; contiguous && k < pages_per_2m; k++)
			contiguous = frames[first + k] == frames[first] + k * PAGE_SIZE;
		if (!(pdpt[i3] & PTE_P)) {
			uint64_t t = alloc_page(s);
			if (!t)
				return HV_ERR_NO_MEMORY;
			pdpt[i3] = t | PAE_PDPTE_FLAGS;
		}
		pd = table(pdpt[i3]);
		if (contiguous) {
			pd[i2] = frames[first] | PTE_P | PTE_W | PTE_U | PTE_PS;
			continue;
		}
		uint64_t pt = alloc_page(s);
		if (!pt)
			return HV_ERR_NO_MEMORY;
		pd[i2] = pt | TABLE_FLAGS;
		for (uint64_t k = 0; k < pages_per_2m && gpa + k * PAGE_SIZE < guest_size; k++)
			table(pt)[k] = frames[first + k] | PTE_P | PTE_W | PTE_U;
	}
	log_info("shadow paging: identity tables for the guest's paging-off phase at %#llx (%llu pages)",
		 (unsigned long long)s->identity_root, (unsigned long long)s->stats.pages_used);
	return HV_OK;
}

void shadow_init_sibling(struct shadow_state *s, const struct shadow_state *first)
{
	memset(s, 0, sizeof(*s));
	s->pmm = first->pmm;
	s->frames = first->frames;
	s->guest_size = first->guest_size;
	s->identity_root = first->identity_root; /* read-only once built: every vCPU's paging-off phase uses it */
	s->current = -1;
}

int shadow_flush_all(struct vcpu *v)
{
	struct shadow_state *s = v->shadow;
	for (unsigned i = 0; i < SHADOW_MAX_ROOTS; i++)
		free_root(s, &s->roots[i]);
	s->current = -1;
	s->stats.flushes++;
	return shadow_switch(v);
}

static enum leaf_size leaf_size_of(uint64_t page_size)
{
	return page_size == PAGE_SIZE_1G ? LEAF_1G : page_size == 2 * PAGE_SIZE_2M ? LEAF_4M
	       : page_size == PAGE_SIZE_2M ? LEAF_2M : LEAF_4K;
}

/* The leaf a guest translation should have in the shadow: frame and rights (SDM Vol. 3A 4.6). */
static uint64_t shadow_leaf(const struct vcpu *v, const struct gpt_walk *w, uint64_t hpa, unsigned access)
{
	const bool dirty = (w->leaf_pte & PTE_D) != 0;
	/* Supervisor writes with CR0.WP=0 may write read-only pages: allow them, supervisor-only. */
	const bool wp_override = !w->writable && (access & GPT_ACCESS_WRITE) && !(access & GPT_ACCESS_USER) &&
				 !(v->guest_cr0 & CR0_WP);
	/* Writable in the shadow only once the guest's D bit is set, so the first write is seen and D set. */
	const bool writable = (w->writable && (dirty || (access & GPT_ACCESS_WRITE))) || wp_override;
	uint64_t e = hpa | PTE_P | ((uint64_t)leaf_size_of(w->page_size) << LEAF_SIZE_SHIFT);
	if (writable)
		e |= PTE_W;
	if (w->user && !wp_override)
		e |= PTE_U;
	/* A user page behind a supervisor-only override leaf stays unfit for supervisor code under SMEP. */
	const bool smep_user_page = wp_override && w->user && (v->guest_cr4 & CR4_SMEP);
	if ((w->nx || smep_user_page) && (v->guest_efer & EFER_NXE))
		e |= PTE_NX;
	return e;
}

/* Walk the current root to the level-1 entry for gva, creating tables; NULL when out of pages. */
static uint64_t *leaf_slot(struct shadow_state *s, const struct shadow_root *r, uint64_t gva, bool create)
{
	uint64_t *t = table(r->top);
	for (unsigned level = r->levels; level > 1; level--) {
		uint64_t *e = &t[LEVEL_INDEX(gva, level)];
		if (!(*e & PTE_P)) {
			uint64_t page;
			if (!create || !(page = alloc_page(s)))
				return NULL;
			*e = page | (level == PAE_LEVELS && r->levels == PAE_LEVELS ? PAE_PDPTE_FLAGS : TABLE_FLAGS);
		}
		t = table(*e);
	}
	return &t[LEVEL_INDEX(gva, 1)];
}

/* Returns the new root's index, or -1 when not even an emptied cache yields a page. */
static int new_root(struct vcpu *v)
{
	struct shadow_state *s = v->shadow;
	int victim = 0;
	for (int i = 0; i < SHADOW_MAX_ROOTS; i++) {
		if (!s->roots[i].used) {
			victim = i;
			break;
		}
		if (s->roots[i].last_use < s->roots[victim].last_use)
			victim = i;
	}
	free_root(s, &s->roots[victim]);
	uint64_t top = alloc_page(s);
	if (!top) {
		/* Out of shadow pages: drop every cached root and start again. */
		for (unsigned i = 0; i < SHADOW_MAX_ROOTS; i++)
			free_root(s, &s->roots[i]);
		s->stats.flushes++;
		top = alloc_page(s);
		victim = 0;
		if (!top)
			return -1;
	}
	s->roots[victim] = (struct shadow_root){ true, guest_levels(v), v->guest_cr3, top, 0, LEAF_4K };
	return victim;
}

/* Drop every shadow leaf the guest's tables no longer justify (the x86 TLB rule at MOV to CR3). */
static void revalidate(struct vcpu *v, struct shadow_root *r, uint64_t tbl, unsigned level, uint64_t va_base)
{
	struct shadow_state *s = v->shadow;
	struct gpt_cpu cpu = guest_cpu(v);
	struct gpt_ops ops;
	uint64_t *t = table(tbl);
	/* This walk checks the translation; the rights are compared below, SMEP/SMAP by the CPU on the leaf. */
	cpu.cr4 &= ~(CR4_SMEP | CR4_SMAP);
	const unsigned entries = level == r->levels && r->levels == PAE_LEVELS ? PAE_PDPT_ENTRIES : PT_ENTRIES;

	guest_mem_gpt_ops(&v->mem->gm, &ops);
	for (unsigned i = 0; i < entries; i++) {
		uint64_t va = va_base | ((uint64_t)i << LEVEL_SHIFT(level));
		if (!(t[i] & PTE_P))
			continue;
		if (level > 1) {
			if (level == LONG_MODE_LEVELS && i >= PT_ENTRIES / 2)
				va |= ~0ull << (LEVEL_SHIFT(LONG_MODE_LEVELS) + PT_INDEX_BITS); /* canonical upper half */
			revalidate(v, r, t[i] & PTE_ADDR_MASK, level - 1, va);
			continue;
		}
		struct gpt_walk w;
		uint64_t hpa;
		s->stats.revalidated++;
		/*
		 * A guest that cleared an accessed flag expects the CPU to set it again on the next
		 * access after this TLB flush (SDM 4.10.4.1): drop the leaf so that access refills it.
		 */
		bool keep = gpt_translate(&cpu, &ops, va, GPT_ACCESS_READ, false, &w) == GPT_OK && w.accessed &&
			    guest_mem_gpa_to_hpa(&v->mem->gm, w.gpa, &hpa) == 0 && (t[i] & PTE_ADDR_MASK) == (hpa & PAGE_MASK);
		if (keep) {
			/* Rights may only have stayed or grown; a dropped W, U or X, or a cleared D, forces a refill. */
			uint64_t want = shadow_leaf(v, &w, hpa & PAGE_MASK, (t[i] & PTE_W) ? GPT_ACCESS_WRITE : 0);
			keep = (t[i] & (PTE_W | PTE_U | PTE_NX)) == (want & (PTE_W | PTE_U | PTE_NX)) &&
			       (!(t[i] & PTE_W) || (w.leaf_pte & PTE_D));
		}
		if (!keep) {
			t[i] = 0;
			s->stats.dropped++;
		}
	}
}

int shadow_switch(struct vcpu *v)
{
	struct shadow_state *s = v->shadow;
	int idx = -1;

	s->stats.cr3_switches++;
	if (!guest_paging(v)) {
		s->current = -1;
		vcpu_write(v, VCPU_CR3, s->identity_root);
		vcpu_request_tlb_flush(v);
		return EXIT_RESUME;
	}
	for (int i = 0; i < SHADOW_MAX_ROOTS; i++)
		if (s->roots[i].used && s->roots[i].guest_cr3 == v->guest_cr3 && s->roots[i].levels == guest_levels(v))
			idx = i;
	if (idx >= 0) {
		s->stats.cache_hits++;
		revalidate(v, &s->roots[idx], s->roots[idx].top, s->roots[idx].levels, 0);
	} else {
		s->stats.cache_misses++;
		idx = new_root(v);
		if (idx < 0) {
			s->current = -1;
			return exit_report_and_stop(v, HV_ERR_NO_MEMORY,
						    "shadow paging: no memory below 4 GiB for a shadow root");
		}
	}
	s->current = idx;
	s->roots[idx].last_use = ++s->clock;
	vcpu_write(v, VCPU_CR3, s->roots[idx].top);
	vcpu_request_tlb_flush(v);
	return EXIT_RESUME;
}

static void drop_page(struct vcpu *v, uint64_t gva);

/*
 * The guest's own fault: deliver it as the CPU would have (CR2 and error code).  An event whose
 * delivery the fault interrupted is already queued again: the two combine as the CPU's would
 * (vcpu_inject_exception: #PF while delivering #PF is #DF, while delivering #DF a triple fault).
 */
static void reflect_fault(struct vcpu *v, uint64_t gva, uint32_t error_code)
{
	v->shadow->stats.reflected_faults++;
	vcpu_inject_pf(v, gva, error_code);
}

/*
 * The monitor's single-step of one guest instruction (SDM Vol. 3B 18.3.1.4): RFLAGS.TF set and #DB
 * intercepted in the exception bitmap, so the single-step trap after the instruction exits here
 * (shadow_handle_debug_exception).  Works where the monitor trap flag does not (Bochs 2.7 never
 * delivers MTF exits).  The guest's own TF is remembered and given back.
 */
static void single_step_override(struct vcpu *v, uint64_t gva, bool delivering)
{
	struct shadow_state *s = v->shadow;
	/*
	 * Not while an event is being delivered (its handler would run with TF), nor in an STI/MOV SS
	 * shadow (VM entry with TF=1 there needs a pending BS, SDM 27.3.1.5): the leaf then lives until
	 * the page's next fault or flush.
	 */
	if (delivering ||
	    (vcpu_read(v, VCPU_INTERRUPTIBILITY_INFO) & (GUEST_INTR_STATE_STI | GUEST_INTR_STATE_MOV_SS))) {
		if (!s->wp_override_warned) {
			s->wp_override_warned = true;
			log_warn("shadow: a CR0.WP=0 write to a user page during event delivery or in an interrupt "
				 "shadow: the page escapes SMAP until its next fault");
		}
		return;
	}
	const uint64_t rflags = vcpu_read(v, VCPU_RFLAGS);
	s->step_active = true;
	s->step_guest_tf = (rflags & RFLAGS_TF) != 0;
	s->wp_override_gva = gva;
	vcpu_write(v, VCPU_RFLAGS, rflags | RFLAGS_TF);
	backend_intercept_exception(v, VECTOR_DB, true);
}

/* The single-stepped instruction is over (or faulted): give the guest its TF back, drop the leaf. */
static void end_single_step(struct vcpu *v)
{
	struct shadow_state *s = v->shadow;
	if (!s->step_active)
		return;
	s->step_active = false;
	const uint64_t rflags = vcpu_read(v, VCPU_RFLAGS);
	vcpu_write(v, VCPU_RFLAGS, s->step_guest_tf ? rflags | RFLAGS_TF : rflags & ~RFLAGS_TF);
	backend_intercept_exception(v, VECTOR_DB, false);
	drop_page(v, s->wp_override_gva);
}

int shadow_handle_page_fault(struct vcpu *v, const struct vm_exit *e, uint64_t *mmio_gpa)
{
	struct shadow_state *s = v->shadow;
	const uint64_t gva = e->qualification; /* #PF exits: the faulting linear address (SDM 28.2.1) */
	const uint32_t err = e->intr.event.error_code;
	const bool delivering = e->vectoring.valid; /* queued again by the backend, delivered after the fill */
	unsigned access = 0;
	struct gpt_cpu cpu = guest_cpu(v);
	struct gpt_ops ops;
	struct gpt_walk w;
	uint64_t hpa;

	/* The single-stepped instruction faulted again: its override leaf goes, it may come back. */
	end_single_step(v);
	if (err & PF_EC_WRITE)
		access |= GPT_ACCESS_WRITE;
	if (err & PF_EC_USER)
		access |= GPT_ACCESS_USER;
	if (err & PF_EC_FETCH)
		access |= GPT_ACCESS_FETCH;
	if (s->current < 0) {
		log_error("shadow: page fault at %#llx with the guest's paging off: guest-physical memory outside "
			  "its RAM [0, %#llx)", (unsigned long long)gva, (unsigned long long)s->guest_size);
		return exit_report_and_stop(v, HV_ERR_EPT_VIOLATION, "guest touched memory it does not have");
	}
	guest_mem_gpt_ops(&v->mem->gm, &ops);
	switch (gpt_translate(&cpu, &ops, gva, access, true, &w)) {
	case GPT_OK:
		break;
	case GPT_PAGE_FAULT:
		reflect_fault(v, gva, w.pf_error_code);
		return EXIT_RESUME;
	case GPT_NONCANONICAL:
		vcpu_inject_gp0(v);
		return EXIT_RESUME;
	default:
		log_error("shadow: the guest's page tables for %#llx lie outside its RAM", (unsigned long long)gva);
		return exit_report_and_stop(v, HV_ERR_EPT_VIOLATION, "guest page tables point outside guest RAM");
	}
	if (!(access & GPT_ACCESS_FETCH) && vlapic_mmio_page(&v->lapic, w.gpa)) {
		*mmio_gpa = w.gpa; /* never mapped: the caller emulates each access (vmm/exit/xapic_mmio.c) */
		return MMU_EMULATE_MMIO;
	}
	if (guest_mem_gpa_to_hpa(&v->mem->gm, w.gpa, &hpa) != 0) {
		log_error("shadow: guest-virtual %#llx maps guest-physical %#llx, outside its RAM [0, %#llx)",
			  (unsigned long long)gva, (unsigned long long)w.gpa, (unsigned long long)s->guest_size);
		return exit_report_and_stop(v, HV_ERR_EPT_VIOLATION, "guest touched memory it does not have");
	}
	struct shadow_root *r = &s->roots[s->current];
	uint64_t *slot = leaf_slot(s, r, gva, true);
	if (!slot) {
		/* Out of shadow pages: start over with an empty root and let the guest fault again. */
		return shadow_flush_all(v);
	}
	const bool was_present = *slot & PTE_P;
	const uint64_t leaf = shadow_leaf(v, &w, hpa & PAGE_MASK, access);
	/*
	 * The CPU refused, twice in a row, an access through the very leaf the walker would write: a
	 * rule the walker does not model (an implicit supervisor access under SMAP, say) decided, so
	 * the fault is the guest's, with the CPU's error code.  Refilling would loop forever.
	 */
	if (was_present && *slot == leaf && (err & PF_EC_PRESENT) && s->last_fill_gva == gva && s->last_fill == leaf) {
		s->last_fill = 0;
		reflect_fault(v, gva, err);
		return EXIT_RESUME;
	}
	s->last_fill_gva = gva;
	s->last_fill = leaf;
	*slot = leaf;
	/*
	 * A CR0.WP=0 write to a read-only user page got a supervisor-only writable leaf, on which the
	 * CPU would no longer apply SMAP to that user page (SMEP is kept by the leaf's NX bit): the
	 * leaf may live for this one instruction only.
	 */
	if (w.user && !(leaf & PTE_U) && (v->guest_cr4 & (CR4_SMEP | CR4_SMAP)))
		single_step_override(v, gva, delivering);
	if (leaf_size_of(w.page_size) > r->largest)
		r->largest = leaf_size_of(w.page_size);
	if (was_present)
		backend_flush_guest_addr(v, gva);
	s->stats.fills++;
	return EXIT_RESUME;
}

/* Drop the shadow of [base, base + size), size >= 2 MiB and aligned: free whole page tables. */
static void drop_range(struct shadow_state *s, const struct shadow_root *r, uint64_t base, uint64_t size)
{
	for (uint64_t va = base; va - base < size; va += PAGE_SIZE_2M) {
		uint64_t *t = table(r->top);
		for (unsigned level = r->levels; level > 2 && t; level--) {
			uint64_t e = t[LEVEL_INDEX(va, level)];
			t = (e & PTE_P) ? table(e) : NULL;
		}
		uint64_t *pde = t ? &t[LEVEL_INDEX(va, 2)] : NULL;
		if (pde && (*pde & PTE_P)) {
			free_tables(s, *pde & PTE_ADDR_MASK, 1);
			*pde = 0;
		}
	}
}

/* Drop the shadow of the guest page holding gva (the whole guest page if it is large), and flush it. */
static void drop_page(struct vcpu *v, uint64_t gva)
{
	struct shadow_state *s = v->shadow;
	if (s->current >= 0) {
		const struct shadow_root *r = &s->roots[s->current];
		uint64_t *slot = leaf_slot(s, r, gva, false);
		/* The guest page's size: recorded in its shadow leaf, else the largest this root has seen. */
		enum leaf_size size = slot && (*slot & PTE_P) ? (enum leaf_size)((*slot & LEAF_SIZE_MASK) >> LEAF_SIZE_SHIFT)
							     : r->largest;
		if (size == LEAF_4K) {
			if (slot)
				*slot = 0;
			if (backend_can_flush_guest_addr(v)) {
				backend_flush_guest_addr(v, gva);
				return;
			}
		} else {
			drop_range(s, r, gva & ~(leaf_size_bytes[size] - 1), leaf_size_bytes[size]);
		}
	}
	vcpu_request_tlb_flush(v);
}

void shadow_invlpg(struct vcpu *v, uint64_t gva)
{
	v->shadow->stats.invlpg++;
	if (!is_canonical(gva))
		return; /* INVLPG of a non-canonical address invalidates nothing (SDM Vol. 2A INVLPG) */
	drop_page(v, gva);
}

int shadow_handle_debug_exception(struct vcpu *v, const struct vm_exit *e)
{
	struct shadow_state *s = v->shadow;
	const bool guest_tf = s->step_guest_tf;
	/* What the CPU would have put in DR6 (SDM 28.2.1, Table 28-1): the step's BS is ours unless the guest set TF. */
	const uint64_t guest_bits = e->qualification & (DR6_B0_B3 | DR6_BD | (guest_tf ? DR6_BS : 0));
	if (!s->step_active) {
		log_error("shadow: a #DB exit with no single-step of the monitor's in progress");
		return exit_report_and_stop(v, HV_ERR_UNEXPECTED_EXIT, "unexpected exception exit");
	}
	end_single_step(v);
	s->stats.single_steps++;
	if (guest_bits) {
		/* The guest's own debug exception (its TF, a breakpoint the instruction hit): deliver it. */
		write_dr6(read_dr6() | guest_bits);
		vcpu_inject_exception(v, VECTOR_DB, false, 0);
	}
	return EXIT_RESUME;
}

void shadow_report(const struct shadow_state *s)
{
	const struct shadow_stats *t = &s->stats;
	log_info("shadow paging: %llu fills, %llu guest faults reflected, %llu CR3 switches (%llu cached, %llu new), "
		 "%llu INVLPG, %llu full flushes, %llu single-stepped CR0.WP=0 writes", (unsigned long long)t->fills,
		 (unsigned long long)t->reflected_faults, (unsigned long long)t->cr3_switches,
		 (unsigned long long)t->cache_hits, (unsigned long long)t->cache_misses, (unsigned long long)t->invlpg,
		 (unsigned long long)t->flushes, (unsigned long long)t->single_steps);
	log_info("shadow paging: %llu entries revalidated at switches, %llu dropped; memory %llu KiB now, %llu KiB peak "
		 "(the peak stays held, its pages recycled for later tables; limit %u KiB)", (unsigned long long)t->revalidated, (unsigned long long)t->dropped,
		 (unsigned long long)(t->pages_used * PAGE_SIZE / 1024), (unsigned long long)(t->pages_peak * PAGE_SIZE / 1024),
		 (unsigned)(SHADOW_MAX_PAGES * PAGE_SIZE / 1024));
}

