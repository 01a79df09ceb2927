/*
 * Physical frames: every available 4 KiB frame of guest RAM above 1 MiB and
 * outside the kernel image.  Frames are handed out from the regions in
 * order and, once freed, from a free list threaded through the frames
 * themselves (the identity map makes a frame's address its pointer).
 */
#include <string.h>
#include "guest/kernel.h"
#include "guest/layout.h"
#include "guest/mm.h"

#define LOW_MEMORY_END 0x100000ull /* below 1 MiB: firmware and loader leftovers, page 0 */

struct free_frame {
	struct free_frame *next;
};

static struct mem_region regions[MEMMAP_MAX]; /* what is left to hand out, page aligned */
static unsigned nr_regions, region_cursor;
static struct free_frame *free_list;
static uint64_t free_count;

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
	if (free_list) {
		pa = (uint64_t)(uintptr_t)free_list;
		free_list = free_list->next;
	} else {
		while (region_cursor < nr_regions && !regions[region_cursor].length)
			region_cursor++;
		if (region_cursor == nr_regions)
			return 0;
		pa = regions[region_cursor].base;
		regions[region_cursor].base += PAGE_SIZE;
		regions[region_cursor].length -= PAGE_SIZE;
	}
	free_count--;
	memset(phys_to_virt(pa), 0, PAGE_SIZE);
	return pa;
}

uint64_t frames_alloc_contiguous(unsigned n)
{
	for (unsigned r = region_cursor; r < nr_regions; r++) {
		if (regions[r].length < (uint64_t)n * PAGE_SIZE)
			continue;
		const uint64_t pa = regions[r].base;
		regions[r].base += (uint64_t)n * PAGE_SIZE;
		regions[r].length -= (uint64_t)n * PAGE_SIZE;
		free_count -= n;
		memset(phys_to_virt(pa), 0, (uint64_t)n * PAGE_SIZE);
		return pa;
	}
	return 0;
}

void frame_free(uint64_t pa)
{
	if (!pa || pa & ~PAGE_MASK)
		panic("frame_free(%#llx): not a frame", (unsigned long long)pa);
	struct free_frame *f = phys_to_virt(pa);
	f->next = free_list;
	free_list = f;
	free_count++;
}

uint64_t frames_free_count(void)
{
	return free_count;
}
