/*
 * Guest memory management: the physical frame allocator, 4-level page
 * tables, and address spaces made of regions (VMAs) whose pages are mapped
 * up front or on first touch (demand paging).
 */
#ifndef GUEST_MM_H
#define GUEST_MM_H

#include <stdbool.h>
#include <stdint.h>
#include <arch/paging.h>

/* frame.c.  Every frame lies in the kernel's identity map: its address is its pointer. */
void frames_init(void);
uint64_t frame_alloc(void); /* a zeroed 4 KiB frame, or 0 when none is left */
void frame_free(uint64_t pa);
uint64_t frames_alloc_contiguous(unsigned n); /* n zeroed frames in a row (never freed: stacks), or 0 */
uint64_t frames_free_count(void);
static inline void *phys_to_virt(uint64_t pa) { return (void *)(uintptr_t)pa; }

/* Page-fault error code bits (SDM Vol. 3A 4.7, Figure 4-12). */
#define PF_ERR_P    (1ull << 0) /* 0: not present; 1: protection violation */
#define PF_ERR_W    (1ull << 1) /* write access */
#define PF_ERR_U    (1ull << 2) /* user-mode access */
#define PF_ERR_RSVD (1ull << 3)
#define PF_ERR_I    (1ull << 4) /* instruction fetch */

/* A region of an address space: [start, end), page aligned. */
#define VMA_USER     (1u << 0) /* user accessible (else supervisor-only) */
#define VMA_WRITE    (1u << 1)
#define VMA_EXEC     (1u << 2)
#define MAX_VMAS     16

struct vma {
	uint64_t start, end;
	uint32_t flags;
};

struct aspace {
	uint64_t cr3;             /* physical address of the PML4 */
	struct vma vmas[MAX_VMAS];
	unsigned nr_vmas;
	uint64_t mmap_next;       /* next address SYS_MMAP(0, ...) tries */
	uint64_t demand_faults;   /* faults resolved by mapping a zeroed frame */
};

/* The kernel's own address space: the kernel half plus an empty user half. */
extern struct aspace kernel_aspace;

struct pt_walk {
	uint64_t pte;        /* the leaf entry */
	uint64_t pa;         /* the translated physical address (with the page offset) */
	uint64_t page_size;  /* 4K, 2M or 1G */
	unsigned levels;     /* entries read: 4 for a 4 KiB page */
};

/* paging.c */
void paging_init(void);                /* builds the kernel half and switches to it */
bool pt_lookup(uint64_t cr3, uint64_t va, struct pt_walk *w);
int pt_map(uint64_t cr3, uint64_t va, uint64_t pa, uint64_t leaf_flags); /* 4 KiB; 0 or SYS_ERR_* */
uint64_t pt_unmap(uint64_t cr3, uint64_t va); /* the frame that was mapped, or 0 */
uint64_t *pt_leaf_entry(uint64_t cr3, uint64_t va); /* the 4 KiB leaf entry of va, or NULL */
static inline void invlpg(uint64_t va) { __asm__ volatile("invlpg (%0)" ::"r"(va) : "memory"); }

void aspace_activate(const struct aspace *as); /* loads its CR3 unless already loaded */
int aspace_create(struct aspace *as);  /* fresh PML4 sharing the kernel half */
void aspace_destroy(struct aspace *as); /* frees the user half: frames and page tables */
void aspace_clear_user_half(struct aspace *as); /* unmaps and frees the whole user half, keeps the PML4 */
const struct vma *vma_find(const struct aspace *as, uint64_t va);
bool aspace_overlaps(const struct aspace *as, uint64_t start, uint64_t end); /* a region meets [start, end) */
/* Adds a region; with populate, maps zeroed frames now.  0 or SYS_ERR_*. */
int aspace_add_region(struct aspace *as, uint64_t start, uint64_t end, uint32_t flags, bool populate);
/* Unmaps and frees the pages in [start, end) and removes that range from the regions. */
int aspace_remove_range(struct aspace *as, uint64_t start, uint64_t end);
uint64_t vma_pte_flags(uint32_t vma_flags);
/* Resolves a not-present fault at va if a region allows the access; true when mapped. */
bool demand_fault(struct aspace *as, uint64_t va, uint64_t error_code);

#endif
