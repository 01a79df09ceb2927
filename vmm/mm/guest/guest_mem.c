/*
 * Guest memory access, physical and virtual (see vmm/include/vmm/guest_mem.h).
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "vmm/gpt.h"
#include "vmm/guest_mem.h"

#define GUEST_PAGE_OFFSET_MASK (GUEST_PAGE_SIZE - 1)
#define PTE_SIZE_32 4u
#define PTE_SIZE_64 8u

bool guest_mem_range_ok(const struct guest_mem *gm, uint64_t gpa, uint64_t len)
{
	return gpa <= gm->size && len <= gm->size - gpa;
}

int guest_mem_gpa_to_hpa(const struct guest_mem *gm, uint64_t gpa, uint64_t *hpa)
{
	if (gpa >= gm->size)
		return GM_ERR_BAD_POINTER;
	*hpa = gm->frames[gpa >> GUEST_PAGE_SHIFT] + (gpa & GUEST_PAGE_OFFSET_MASK);
	return GM_OK;
}

/* Monitor pointer to gpa, which the caller has checked lies in guest RAM. */
static uint8_t *host_ptr(const struct guest_mem *gm, uint64_t gpa)
{
	return gm->hpa_to_ptr(gm->ctx, gm->frames[gpa >> GUEST_PAGE_SHIFT] + (gpa & GUEST_PAGE_OFFSET_MASK));
}

/* Bytes from addr to the end of its 4 KiB page, at most len. */
static uint64_t page_chunk(uint64_t addr, uint64_t len)
{
	const uint64_t room = GUEST_PAGE_SIZE - (addr & GUEST_PAGE_OFFSET_MASK);
	return len < room ? len : room;
}

/* Copy len bytes between guest RAM at gpa (already range-checked) and buf. */
static void phys_copy(const struct guest_mem *gm, uint64_t gpa, void *buf, uint64_t len, bool to_guest)
{
	uint64_t done = 0;
	while (done < len) {
		const uint64_t n = page_chunk(gpa + done, len - done);
		uint8_t *host = host_ptr(gm, gpa + done);
		if (to_guest)
			memcpy(host, (const uint8_t *)buf + done, n);
		else
			memcpy((uint8_t *)buf + done, host, n);
		done += n;
	}
}

int guest_phys_read(const struct guest_mem *gm, uint64_t gpa, void *buf, uint64_t len)
{
	if (!guest_mem_range_ok(gm, gpa, len))
		return GM_ERR_BAD_POINTER;
	phys_copy(gm, gpa, buf, len, false);
	return GM_OK;
}

int guest_phys_write(const struct guest_mem *gm, uint64_t gpa, const void *buf, uint64_t len)
{
	if (!guest_mem_range_ok(gm, gpa, len))
		return GM_ERR_BAD_POINTER;
	phys_copy(gm, gpa, (void *)buf, len, true); /* only read from */
	return GM_OK;
}

/* gpt_ops callbacks: ctx is the struct guest_mem. Entries are 4 or 8 bytes, little endian. */
static int gm_read_pte(void *ctx, uint64_t gpa, uint64_t *val, unsigned size)
{
	const struct guest_mem *gm = ctx;
	if ((size != PTE_SIZE_32 && size != PTE_SIZE_64) || !guest_mem_range_ok(gm, gpa, size))
		return -1;
	if (size == PTE_SIZE_32) {
		uint32_t v;
		phys_copy(gm, gpa, &v, sizeof(v), false);
		*val = v;
	} else {
		phys_copy(gm, gpa, val, sizeof(*val), false);
	}
	return 0;
}

static int gm_write_pte(void *ctx, uint64_t gpa, uint64_t val, unsigned size) /* val: the bits to set */
{
	const struct guest_mem *gm = ctx;
	if ((size != PTE_SIZE_32 && size != PTE_SIZE_64) || !guest_mem_range_ok(gm, gpa, size))
		return -1;
	/* An aligned entry never crosses a page: one host location, ORed atomically (a locked OR, SDM 4.8). */
	if (gpa & (size - 1))
		return -1;
	if (size == PTE_SIZE_32)
		__atomic_fetch_or((uint32_t *)host_ptr(gm, gpa), (uint32_t)val, __ATOMIC_SEQ_CST);
	else
		__atomic_fetch_or((uint64_t *)host_ptr(gm, gpa), val, __ATOMIC_SEQ_CST);
	return 0;
}

void guest_mem_gpt_ops(const struct guest_mem *gm, struct gpt_ops *ops)
{
	ops->read_pte = gm_read_pte;
	ops->write_pte = gm_write_pte;
	ops->ctx = (void *)gm; /* only read through, except the A/D updates of guest RAM */
}

static int fail(struct guest_virt_fault *fault, uint64_t gva, int gpt_result, uint32_t ec, int err)
{
	if (fault) {
		fault->gva = gva;
		fault->gpt_result = gpt_result;
		fault->pf_error_code = ec;
	}
	return err;
}

/* The error for a failed walk: not present -> NOT_MAPPED; anything else -> BAD_POINTER. */
static int walk_error(int rc, const struct gpt_walk *w)
{
	if (rc == GPT_PAGE_FAULT && !(w->pf_error_code & PF_EC_PRESENT))
		return GM_ERR_NOT_MAPPED;
	return GM_ERR_BAD_POINTER;
}

/* guest_virt_access: a write into guest memory when access has GPT_ACCESS_WRITE, else a read. */
int guest_virt_access(const struct guest_mem *gm, const struct gpt_cpu *cpu, uint64_t gva, void *buf,
		      uint64_t len, uint64_t max_len, unsigned access, struct guest_virt_fault *fault)
{
	uint64_t gpas[GUEST_VIRT_MAX_PAGES];
	struct gpt_ops ops;
	struct gpt_walk w;

	if (fault)
		memset(fault, 0, sizeof(*fault));
	if (len > max_len || len > GUEST_VIRT_MAX_LEN)
		return fail(fault, gva, GPT_OK, 0, GM_ERR_BAD_POINTER);
	if (len == 0)
		return GM_OK;
	if (gva > UINT64_MAX - (len - 1))
		return fail(fault, gva, GPT_OK, 0, GM_ERR_BAD_POINTER); /* the range wraps past 2^64 */
	guest_mem_gpt_ops(gm, &ops);

	/* (1) Translate and check every page, changing nothing. */
	unsigned n = 0;
	for (uint64_t off = 0; off < len; n++) {
		const uint64_t va = gva + off, chunk = page_chunk(va, len - off);
		const int rc = gpt_translate(cpu, &ops, va, access, false, &w);
		if (rc != GPT_OK)
			return fail(fault, va, rc, w.pf_error_code, walk_error(rc, &w));
		if (!guest_mem_range_ok(gm, w.gpa, chunk))
			return fail(fault, va, GPT_OK, 0, GM_ERR_BAD_POINTER);
		gpas[n] = w.gpa;
		off += chunk;
	}

	/* (2) Accessed and dirty flags, as the CPU would set them for this access (SDM 4.8). */
	n = 0;
	for (uint64_t off = 0; off < len; n++) {
		const uint64_t va = gva + off, chunk = page_chunk(va, len - off);
		const int rc = gpt_translate(cpu, &ops, va, access, true, &w);
		if (rc != GPT_OK || w.gpa != gpas[n])
			return fail(fault, va, rc, w.pf_error_code, GM_ERR_BAD_POINTER);
		off += chunk;
	}

	/* (3) Copy. */
	n = 0;
	for (uint64_t off = 0; off < len; n++) {
		const uint64_t chunk = page_chunk(gva + off, len - off);
		phys_copy(gm, gpas[n], (uint8_t *)buf + off, chunk, (access & GPT_ACCESS_WRITE) != 0);
		off += chunk;
	}
	return GM_OK;
}

int guest_virt_read(const struct guest_mem *gm, const struct gpt_cpu *cpu, uint64_t gva, void *buf, uint64_t len,
		    uint64_t max_len)
{
	return guest_virt_access(gm, cpu, gva, buf, len, max_len, GPT_ACCESS_READ, NULL);
}

int guest_virt_write(const struct guest_mem *gm, const struct gpt_cpu *cpu, uint64_t gva, const void *buf,
		     uint64_t len, uint64_t max_len)
{
	/* buf is only read from: a write access copies into guest memory. */
	return guest_virt_access(gm, cpu, gva, (void *)buf, len, max_len, GPT_ACCESS_WRITE, NULL);
}
