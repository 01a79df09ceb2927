/*
 * libFuzzer harness: the guest ELF64 loader (vmm/loader/elf.c).
 * Input: 4 bytes of guest memory size (mem_limit, in units of 256 bytes: up to 1 TiB), then the image.
 * Properties of an accepted image: 1..ELF_MAX_SEGMENTS segments, each with
 * file data inside the image, filesz <= memsz, [paddr, paddr + memsz) inside
 * [0, mem_limit) and overlapping no other; lowest/highest the bounds of the
 * segments; the entry point inside an executable segment, entry_gpa its
 * translation.  elf_load() then writes and zeroes exactly the segments:
 * every callback range lies inside guest memory and inside its segment, and
 * every write's source inside the image.  A refused image has a reason.
 */
#include <stdbool.h>
#include "fuzz.h"
#include "vmm/elf.h"

#define MEM_LIMIT_BYTES 4u

static struct {
	const uint8_t *image;
	uint64_t size;
	const struct elf_image *img;
	uint64_t mem_limit;
	unsigned calls;
	uint64_t bytes;
} load;

/* The segment that holds [gpa, gpa + len), or NULL. */
static const struct elf_segment *segment_of(uint64_t gpa, uint64_t len)
{
	for (unsigned k = 0; k < load.img->nsegs; k++) {
		const struct elf_segment *s = &load.img->seg[k];
		if (gpa >= s->paddr && len <= s->memsz && gpa - s->paddr <= s->memsz - len)
			return s;
	}
	return NULL;
}

static int write_cb(void *ctx, uint64_t gpa, const void *src, uint64_t len)
{
	(void)ctx;
	const uint8_t *p = src;
	FUZZ_CHECK(len > 0 && gpa < load.mem_limit && len <= load.mem_limit - gpa);
	const struct elf_segment *s = segment_of(gpa, len);
	FUZZ_CHECK(s && gpa == s->paddr && len == s->filesz);
	FUZZ_CHECK(p >= load.image && (uint64_t)(p - load.image) == s->offset && len <= load.size - s->offset);
	load.calls++;
	load.bytes += len;
	return 0;
}

static int zero_cb(void *ctx, uint64_t gpa, uint64_t len)
{
	(void)ctx;
	FUZZ_CHECK(len > 0 && gpa < load.mem_limit && len <= load.mem_limit - gpa);
	const struct elf_segment *s = segment_of(gpa, len);
	FUZZ_CHECK(s && gpa == s->paddr + s->filesz && len == s->memsz - s->filesz);
	load.calls++;
	load.bytes += len;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = { data, size };
	const uint64_t mem_limit = (uint64_t)fuzz_take(&in, MEM_LIMIT_BYTES) << 8; /* up to 1 TiB */
	uint8_t *image = malloc(in.size ? in.size : 1); /* exactly the image: ASan sees over-reads */
	memcpy(image, in.data, in.size);

	static struct elf_image img;
	char why[ELF_WHY_LEN];
	int rc = elf_parse(image, in.size, mem_limit, &img, why, sizeof(why));
	FUZZ_CHECK(memchr(why, '\0', sizeof(why)) != NULL);
	if (rc != 0) {
		FUZZ_CHECK(rc == -1 && why[0] != '\0');
		free(image);
		return 0;
	}
	FUZZ_CHECK(why[0] == '\0');
	FUZZ_CHECK(img.nsegs >= 1 && img.nsegs <= ELF_MAX_SEGMENTS);
	uint64_t lowest = UINT64_MAX, highest = 0, expect_bytes = 0;
	unsigned expect_calls = 0;
	bool entry_found = false;
	for (unsigned k = 0; k < img.nsegs; k++) {
		const struct elf_segment *s = &img.seg[k];
		FUZZ_CHECK(s->filesz <= s->memsz);
		FUZZ_CHECK(s->offset <= in.size && s->filesz <= in.size - s->offset);
		FUZZ_CHECK(s->paddr <= mem_limit && s->memsz <= mem_limit - s->paddr);
		FUZZ_CHECK(k == 0 || s->index > img.seg[k - 1].index);
		for (unsigned j = 0; j < k; j++) {
			const struct elf_segment *o = &img.seg[j];
			FUZZ_CHECK(!s->memsz || !o->memsz || s->paddr + s->memsz <= o->paddr ||
				   o->paddr + o->memsz <= s->paddr);
		}
		lowest = s->paddr < lowest ? s->paddr : lowest;
		highest = s->paddr + s->memsz > highest ? s->paddr + s->memsz : highest;
		if (!entry_found && (s->flags & ELF_PF_X) && img.entry >= s->vaddr && img.entry - s->vaddr < s->memsz) {
			entry_found = true;
			FUZZ_CHECK(img.entry_gpa == s->paddr + (img.entry - s->vaddr));
		}
		expect_calls += (s->filesz != 0) + (s->memsz > s->filesz);
		expect_bytes += s->memsz;
	}
	FUZZ_CHECK(entry_found);
	FUZZ_CHECK(img.lowest == lowest && img.highest == highest && highest <= mem_limit);

	load.image = image;
	load.size = in.size;
	load.img = &img;
	load.mem_limit = mem_limit;
	load.calls = 0;
	load.bytes = 0;
	FUZZ_CHECK(elf_load(image, &img, write_cb, zero_cb, NULL) == 0);
	FUZZ_CHECK(load.calls == expect_calls && load.bytes == expect_bytes);
	free(image);
	return 0;
}
