/*
 * Physical frames: every available 4 KiB frame of guest RAM above 1 MiB and
 * outside the kernel image.  Frames are handed out from the regions in
 * order and, once freed, from a free list threaded through the frames
 * themselves (the identity map makes a frame's address its pointer).  One
 * lock, taken with interrupts off, keeps the CPUs apart.
 */
#include <string.h>
#include "guest/kernel.h"
#include "guest/layout.h"
#include "guest/mm.h"
#include "guest/spinlock.h"

#define LOW_MEMORY_END 0x100000ull /* below 1 MiB: firmware and loader leftovers, page 0 */

struct free_frame {
	struct free_frame *next;
};

static struct mem_region regions[MEMMAP_MAX]; /* what is left to hand out, page aligned */
static unsigned nr_regions, region_cursor;
static struct free_frame *free_list;
static uint64_t free_count;
static struct spinlock frame_lock = SPINLOCK_INIT;

static void add_usable(uint64_t start, uint64_t end)
{
	start = ALIGN_UP(start, PAGE_SIZE);
	end = ALIGN_DOWN(end, PAGE_SIZE);
	if (end > KERNEL_MAP_MAX)
		end = KERNEL_MAP_MAX;
	if (start >= end || nr_regions == MEMMAP_MAX)
		return;
	regions[nr_regions++] = (struct mem_region){ start, end - start };
	free_count += (end - start) / PAGE_SIZE;
}

void frames_init(void)
{
	const uint64_t img_start = (uint64_t)(uintptr_t)guest_image_start;
	const uint64_t img_end = ALIGN_UP((uint64_t)(uintptr_t)guest_image_end, PAGE_SIZE);
	for (unsigned i = 0; i < boot_config.nr_ram; i++) {
		uint64_t s = boot_config.ram[i].base, e = s + boot_config.ram[i].length;
		if (s < LOW_MEMORY_END)
			s = LOW_MEMORY_END;
		/* Cut the image out: what lies below it and what lies above it. */
		if (s < img_start)
			add_usable(s, e < img_start ? e : img_start);
		if (e > img_end)
			add_usable(s > img_end ? s : img_end, e);
	}
	if (!free_count)
		panic("no free guest RAM above the kernel image");
}

uint64_t frame_alloc(void)
{
	uint64_t pa = 0;
	const uint64_t flags = spin_lock_irqsave(&frame_lock);
	if (free_list) {
		pa = (uint64_t)(uintptr_t)free_list;
		free_list = free_list->next;
	} else {
		while (region_cursor < nr_regions && !regions[region_cursor].length)
			region_cursor++;
		if (region_cursor < nr_regions) {
			pa = regions[region_cursor].base;
			regions[region_cursor].base += PAGE_SIZE;
			regions[region_cursor].length -= PAGE_SIZE;
		}
	}
	if (pa)
		free_count--;
	spin_unlock_irqrestore(&frame_lock, flags);
	if (pa)
		memset(phys_to_virt(pa), 0, PAGE_SIZE); /* the frame is ours alone now */
	return pa;
}

uint64_t frames_alloc_contiguous(unsigned n)
{
	uint64_t pa = 0;
	const uint64_t flags = spin_lock_irqsave(&frame_lock);
	for (unsigned r = region_cursor; r < nr_regions; r++) {
		if (regions[r].length < (uint64_t)n * PAGE_SIZE)
			continue;
		pa = regions[r].base;
		regions[r].base += (uint64_t)n * PAGE_SIZE;
		regions[r].length -= (uint64_t)n * PAGE_SIZE;
		free_count -= n;
		break;
	}
	spin_unlock_irqrestore(&frame_lock, flags);
	if (pa)
		memset(phys_to_virt(pa), 0, (uint64_t)n * PAGE_SIZE);
	return pa;
}

void frame_free(uint64_t pa)
{
	if (!pa || pa & ~PAGE_MASK)
		panic("frame_free(%#llx): not a frame", (unsigned long long)pa);
	struct free_frame *f = phys_to_virt(pa);
	const uint64_t flags = spin_lock_irqsave(&frame_lock);
	f->next = free_list;
	free_list = f;
	free_count++;
	spin_unlock_irqrestore(&frame_lock, flags);
}

uint64_t frames_free_count(void)
{
	return __atomic_load_n(&free_count, __ATOMIC_RELAXED);
}
