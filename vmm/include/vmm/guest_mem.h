/*
 * Guest memory: the guest's RAM [0, size) is backed by host frames anywhere
 * (one HPA per 4 KiB guest page), and this is the only way the monitor reads
 * or writes it.  Two layers:
 *  - guest-physical access, bounds-checked against guest RAM without overflow;
 *  - guest-virtual access for hypercall pointers: every page is translated
 *    through the guest's own page tables (vmm/gpt.h) and must land in guest
 *    RAM.  Every guest pointer is validated, never trusted.
 * Host memory is reached through hpa_to_ptr: pure logic, unit-tested on the
 * host (tests/unit/test_guest_mem.c).
 */
#ifndef VMM_GUEST_MEM_H
#define VMM_GUEST_MEM_H

#include <stdbool.h>
#include <stdint.h>
#include "vmm/gpt.h"
#include "vmm/hypercall.h"

#define GUEST_PAGE_SHIFT 12u
#define GUEST_PAGE_SIZE  (1ull << GUEST_PAGE_SHIFT)

/*
 * Guest-virtual accesses translate all their pages before copying anything,
 * into a buffer on the stack: at most this many bytes per call.
 */
#define GUEST_VIRT_MAX_LEN   (256ull * 1024)
#define GUEST_VIRT_MAX_PAGES (GUEST_VIRT_MAX_LEN / GUEST_PAGE_SIZE + 1) /* + 1: an unaligned start */

/* Results: the hypercall error numbers, so a handler can return them as they are. */
enum guest_mem_error {
	GM_OK = 0,
	GM_ERR_BAD_POINTER = HC_ERR_BAD_POINTER, /* outside guest RAM, wraps, too long, non-canonical,
						    paging structures outside RAM, or access not allowed */
	GM_ERR_NOT_MAPPED = HC_ERR_NOT_MAPPED,    /* a page is not present in the guest's page tables */
};

struct guest_mem {
	uint64_t size;          /* bytes of guest RAM, a multiple of GUEST_PAGE_SIZE */
	const uint64_t *frames; /* frames[i]: HPA (4 KiB aligned) of guest page i, size / 4 KiB entries */
	void *(*hpa_to_ptr)(void *ctx, uint64_t hpa); /* monitor pointer to a host-physical address */
	void *ctx;
};

/* Why a guest-virtual access failed (optional output). */
struct guest_virt_fault {
	uint64_t gva;           /* first address that failed (the start of its page, or gva itself) */
	int gpt_result;         /* enum gpt_result of that page's walk; GPT_OK if the walk succeeded
				   but the page is outside guest RAM, or the range itself was refused */
	uint32_t pf_error_code; /* GPT_PAGE_FAULT: the #PF error code the guest would have got */
};

/*
 * Whether [gpa, gpa + len) lies inside guest RAM, without wrapping.  len 0 is
 * accepted for any gpa <= size (an empty range inside RAM or at its end).
 */
bool guest_mem_range_ok(const struct guest_mem *gm, uint64_t gpa, uint64_t len);

/* HPA backing gpa: GM_OK, or GM_ERR_BAD_POINTER if gpa is outside guest RAM. */
int guest_mem_gpa_to_hpa(const struct guest_mem *gm, uint64_t gpa, uint64_t *hpa);

/*
 * Copy between guest-physical memory and buf, crossing 4 KiB pages (each
 * backed by its own frame).  The whole range is checked first: GM_OK, or
 * GM_ERR_BAD_POINTER and nothing copied.
 */
int guest_phys_read(const struct guest_mem *gm, uint64_t gpa, void *buf, uint64_t len);
int guest_phys_write(const struct guest_mem *gm, uint64_t gpa, const void *buf, uint64_t len);

/*
 * gpt_ops that read and write the guest's paging structures in guest RAM
 * (ctx = gm; a table outside RAM makes the walk fail with GPT_BAD_GPA).
 * For callers that walk the guest's tables themselves (HC_TRANSLATE).
 */
void guest_mem_gpt_ops(const struct guest_mem *gm, struct gpt_ops *ops);

/*
 * Copy len bytes between the guest-virtual range [gva, gva + len) and buf, as
 * an access of kind `access` (GPT_ACCESS_*): with GPT_ACCESS_WRITE, from buf
 * into the guest (buf is only read), else from the guest into buf.  Add
 * GPT_ACCESS_USER when the access is made on behalf of CPL 3.
 * Refused with GM_ERR_BAD_POINTER: len > max_len, len > GUEST_VIRT_MAX_LEN,
 * gva + len wraps, a non-canonical page, a page whose paging structures lie
 * outside RAM, an access-rights violation, or a page that maps outside guest
 * RAM.  GM_ERR_NOT_MAPPED: a page is not present.  len 0 succeeds without
 * translating anything.
 * Order: (1) every page is translated (no A/D updates) and checked; on any
 * failure, nothing at all has changed; (2) every page is translated again
 * setting A (and D for writes) as the CPU would, and must give the same GPA;
 * (3) the bytes are copied.  So a refused access never copies a byte; the
 * only partial effect possible is A/D flags if the guest's tables change
 * under step (2), which only the A/D writes themselves could do.
 * fault may be NULL.
 */
int guest_virt_access(const struct guest_mem *gm, const struct gpt_cpu *cpu, uint64_t gva, void *buf,
		      uint64_t len, uint64_t max_len, unsigned access, struct guest_virt_fault *fault);

/* Supervisor-mode (CPL 0) read / write: guest_virt_access with GPT_ACCESS_READ / GPT_ACCESS_WRITE. */
int guest_virt_read(const struct guest_mem *gm, const struct gpt_cpu *cpu, uint64_t gva, void *buf, uint64_t len,
		    uint64_t max_len);
int guest_virt_write(const struct guest_mem *gm, const struct gpt_cpu *cpu, uint64_t gva, const void *buf,
		     uint64_t len, uint64_t max_len);

#endif
