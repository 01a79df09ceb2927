/*
 * memory: the kernel's memory system calls seen from ring 3.
 *   MEMORY_MMAP     populated mmap, fixed addresses, overlaps, bad arguments, partial munmap
 *   MEMORY_DEMAND   a reserved region: each first touch is a page fault the guest kernel
 *                   resolves (a zeroed frame), with no VM exit in EPT mode
 *   MEMORY_UNMAPPED a page used after munmap: the kernel must kill us
 *   MEMORY_SPREAD   one program per CPU at once: demand faults, system calls, a bounded spin,
 *                   and the CPU it ran on (SYS_INFO) as its exit status
 */
#include "ulib.h"

#define PAGE 4096ull
#define MMAP_PAGES 4
#define FIXED_OFFSET 0x100000000ull /* a fixed mmap address, 4 GiB into the mmap area */
#define SPLIT_PAGES 3
#define FILL(page, i) ((uint8_t)((page) * 31u + (i) * 7u + 1u))
#define CHECK_STRIDE 61 /* check a sample of each page */

static struct hv_stats before, after;

static bool fill_and_check(uint64_t base, unsigned pages)
{
	volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)base;
	for (unsigned pg = 0; pg < pages; pg++)
		for (unsigned i = 0; i < PAGE; i += CHECK_STRIDE)
			p[pg * PAGE + i] = FILL(pg, i);
	for (unsigned pg = 0; pg < pages; pg++)
		for (unsigned i = 0; i < PAGE; i += CHECK_STRIDE)
			if (p[pg * PAGE + i] != FILL(pg, i))
				return false;
	return true;
}

static int64_t check_mmap(void)
{
	const int64_t free0 = sys_info(INFO_FREE_FRAMES);
	const int64_t faults0 = sys_info(INFO_DEMAND_FAULTS);
	const int64_t a = sys_mmap(0, MMAP_PAGES * PAGE, MMAP_POPULATE);
	if (a < (int64_t)USER_MMAP_BASE || a % PAGE) {
		uprintf("mmap returned %lld\n", (long long)a);
		return UTEST_BAD_RESULT;
	}
	const int64_t free1 = sys_info(INFO_FREE_FRAMES);
	if (free0 - free1 < MMAP_PAGES) {
		uprintf("mmap of %u populated pages took %lld frames\n", MMAP_PAGES, (long long)(free0 - free1));
		return UTEST_BAD_RESULT;
	}
	if (!fill_and_check((uint64_t)a, MMAP_PAGES))
		return UTEST_BAD_DATA;
	if (sys_info(INFO_DEMAND_FAULTS) != faults0) {
		uprintf("populated pages faulted\n");
		return UTEST_FAULT_COUNT;
	}
	if (sys_munmap((uint64_t)a, MMAP_PAGES * PAGE) != 0 || sys_info(INFO_FREE_FRAMES) != free1 + MMAP_PAGES) {
		uprintf("munmap did not give back %u frames\n", MMAP_PAGES);
		return UTEST_BAD_RESULT;
	}
	uprintf("mmap %u populated pages at %#llx, wrote and read them, munmap gave the frames back\n", MMAP_PAGES,
		(unsigned long long)a);

	const uint64_t fixed = USER_MMAP_BASE + FIXED_OFFSET;
	int64_t b = sys_mmap(fixed, PAGE, MMAP_POPULATE);
	int64_t overlap = sys_mmap(fixed, PAGE, 0);
	int64_t empty = sys_mmap(0, 0, 0);
	int64_t outside = sys_mmap(USER_TEXT, PAGE, 0);
	int64_t unaligned = sys_mmap(fixed + PAGE + 1, PAGE, 0);
	int64_t unmap_text = sys_munmap(USER_TEXT, PAGE);
	if (b != (int64_t)fixed || overlap != SYS_ERR_INVAL || empty != SYS_ERR_INVAL || outside != SYS_ERR_INVAL ||
	    unaligned != SYS_ERR_INVAL || unmap_text != SYS_ERR_INVAL) {
		uprintf("fixed %lld overlap %lld empty %lld outside %lld unaligned %lld munmap(text) %lld\n", (long long)b,
			(long long)overlap, (long long)empty, (long long)outside, (long long)unaligned, (long long)unmap_text);
		return UTEST_BAD_RESULT;
	}

	/* Unmapping the middle page splits the region; the rest stays usable. */
	const int64_t c = sys_mmap(0, SPLIT_PAGES * PAGE, MMAP_POPULATE);
	if (c < 0 || sys_munmap((uint64_t)c + PAGE, PAGE) != 0)
		return UTEST_BAD_RESULT;
	if (!fill_and_check((uint64_t)c, 1) || !fill_and_check((uint64_t)c + 2 * PAGE, 1))
		return UTEST_BAD_DATA;
	/* Page tables stay until exit; the pages themselves go back at once. */
	const int64_t free2 = sys_info(INFO_FREE_FRAMES);
	if (sys_munmap((uint64_t)c, SPLIT_PAGES * PAGE) != 0 || sys_munmap(fixed, PAGE) != 0)
		return UTEST_BAD_RESULT;
	const int64_t returned = (SPLIT_PAGES - 1) + 1; /* what is left of the split region, and the fixed page */
	if (sys_info(INFO_FREE_FRAMES) != free2 + returned) {
		uprintf("munmap gave back %lld frames, expected %lld\n", (long long)(sys_info(INFO_FREE_FRAMES) - free2),
			(long long)returned);
		return UTEST_BAD_RESULT;
	}
	uprintf("fixed-address mmap, overlap and argument checks, partial munmap: ok\n");
	return UTEST_OK;
}

static int64_t check_demand(void)
{
	const int64_t r = sys_mmap(0, MEMORY_DEMAND_PAGES * PAGE, 0); /* reserved, nothing mapped */
	if (r < 0)
		return UTEST_BAD_RESULT;
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)r;
	const bool hv = sys_info(INFO_HYPERVISOR) == 1;
	const bool shadow = sys_info(INFO_MEM_SHADOW) == 1;
	const int64_t faults0 = sys_info(INFO_DEMAND_FAULTS);
	unsigned nonzero = 0;
	if (hv)
		sys_hvstats(&before);
	for (unsigned pg = 0; pg < MEMORY_DEMAND_PAGES; pg++) {
		volatile uint64_t *w = p + pg * (PAGE / sizeof(uint64_t));
		nonzero += *w != 0; /* the first touch faults: a zeroed frame appears */
		*w = pg + 1;
	}
	if (hv)
		sys_hvstats(&after);
	const int64_t faults = sys_info(INFO_DEMAND_FAULTS) - faults0;
	for (unsigned pg = 0; pg < MEMORY_DEMAND_PAGES; pg++)
		if (p[pg * (PAGE / sizeof(uint64_t))] != pg + 1)
			return UTEST_BAD_DATA;
	unsigned reason = 0;
	const uint64_t extra = hv ? unexpected_exits(&before, &after, &reason) : 0;
	uprintf("touched %u reserved pages: %lld page faults resolved by the guest kernel, %llu VM exits%s\n",
		MEMORY_DEMAND_PAGES, (long long)faults, (unsigned long long)extra,
		hv ? (shadow ? " (shadow paging: its #PF exits are not counted)" : "") : " (no monitor)");
	if (extra)
		uprintf("unexpected exits, the first: %s (basic reason %u)\n", exit_name(reason), reason);
	if (sys_munmap((uint64_t)r, MEMORY_DEMAND_PAGES * PAGE) != 0)
		return UTEST_BAD_RESULT;
	if (nonzero)
		return UTEST_BAD_DATA;
	if (faults != MEMORY_DEMAND_PAGES)
		return UTEST_FAULT_COUNT;
	return extra ? UTEST_EXITS_MOVED : UTEST_OK;
}

static int64_t use_after_munmap(void)
{
	const int64_t a = sys_mmap(0, PAGE, MMAP_POPULATE);
	if (a < 0)
		return UTEST_BAD_RESULT;
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)a;
	*p = 1;
	sys_munmap((uint64_t)a, PAGE);
	uprintf("writing %#llx after munmap\n", (unsigned long long)a);
	*p = 2; /* not present: #PF, and the kernel has no region to resolve it */
	return UTEST_SURVIVED;
}

#define SPREAD_WORD(pid, pg, round) ((uint64_t)(pid) << 32 | (uint64_t)(pg) << 16 | (round))

/*
 * Runs beside the same program on the other CPUs: loads GS (the kernel's GS base must not
 * depend on ring 3's), touches MEMORY_SPREAD_PAGES reserved pages (each first touch a page fault
 * its CPU resolves), then rewrites them round after round with a system call each, until
 * MEMORY_SPREAD_MIN_ROUNDS rounds (or, when asked, until the timer has preempted it once) are done.
 */
static int64_t spread(uint64_t arg)
{
	const int64_t cpu = sys_info(INFO_CPU), pid = sys_getpid();
	if (cpu < 0 || pid <= 0)
		return UTEST_BAD_RESULT;
	const uint16_t gs = (uint16_t)(arg & MEMORY_SPREAD_ARG_GS_MASK);
	if (gs)
		__asm__ volatile("mov %0, %%gs" ::"r"(gs)); /* the GS base becomes the descriptor's: 0 */
	const int64_t faults0 = sys_info(INFO_DEMAND_FAULTS);
	const int64_t r = sys_mmap(0, MEMORY_SPREAD_PAGES * PAGE, 0);
	if (r < 0)
		return UTEST_BAD_RESULT;
	volatile uint64_t *p = (volatile uint64_t *)(uintptr_t)r;
	const uint64_t words = PAGE / sizeof(uint64_t);
	unsigned round = 0;
	for (;; round++) {
		for (unsigned pg = 0; pg < MEMORY_SPREAD_PAGES; pg++) {
			volatile uint64_t *w = p + pg * words + round % words;
			if (round < words && *w != 0)
				return UTEST_BAD_DATA; /* a fresh frame is zeroed, and this word was not written yet */
			*w = SPREAD_WORD(pid, pg, round);
		}
		if (sys_getpid() != pid)
			return UTEST_BAD_RESULT;
		if (sys_info(INFO_CPU) != cpu)
			return UTEST_MIGRATED;
		if (round + 1 < MEMORY_SPREAD_MIN_ROUNDS)
			continue;
		if (!(arg & MEMORY_SPREAD_ARG_UNTIL_PREEMPTED) || sys_info(INFO_PREEMPTIONS) > 0 ||
		    round + 1 >= MEMORY_SPREAD_MAX_ROUNDS)
			break;
	}
	for (unsigned pg = 0; pg < MEMORY_SPREAD_PAGES; pg++)
		if (p[pg * words + round % words] != SPREAD_WORD(pid, pg, round))
			return UTEST_BAD_DATA;
	const int64_t faults = sys_info(INFO_DEMAND_FAULTS) - faults0;
	if (sys_munmap((uint64_t)r, MEMORY_SPREAD_PAGES * PAGE) != 0)
		return UTEST_BAD_RESULT;
	uprintf("on CPU %lld: %lld page faults, %u rounds, %lld preemptions so far%s\n", (long long)cpu, (long long)faults,
		round + 1, (long long)sys_info(INFO_PREEMPTIONS), gs ? ", GS loaded in ring 3" : "");
	if (faults != MEMORY_SPREAD_PAGES)
		return UTEST_FAULT_COUNT;
	if (sys_info(INFO_CPU) != cpu)
		return UTEST_MIGRATED;
	return MEMORY_SPREAD_DONE(cpu);
}

int64_t umain(uint64_t mode, uint64_t arg);
int64_t umain(uint64_t mode, uint64_t arg)
{
	switch (mode) {
	case MEMORY_MMAP: return check_mmap();
	case MEMORY_DEMAND: return check_demand();
	case MEMORY_UNMAPPED: return use_after_munmap();
	case MEMORY_SPREAD: return spread(arg);
	default: return UTEST_BAD_MODE;
	}
}
