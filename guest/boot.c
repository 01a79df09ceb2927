/*
 * The Multiboot2 boot information (Multiboot2 specification 1.0, 3.6) and
 * the command line.  Everything needed is copied out at once: the frames
 * holding the information are handed to the frame allocator afterwards.
 */
#include <string.h>
#include "guest/hostile.h"
#include "guest/kernel.h"
#include "vmm/multiboot2.h"

#define KIB                  1024ull
#define DECIMAL_BASE         10
#define MIB                  (1024 * KIB)
#define BENCH_BUDGET_LOG2_DEFAULT 22 /* 4 M cycles per benchmark: Bochs runs the set in about ten seconds */
#define BENCH_BUDGET_LOG2_MIN     10
#define BENCH_BUDGET_LOG2_MAX     34


struct boot_config boot_config = { .bench_budget_log2 = BENCH_BUDGET_LOG2_DEFAULT, .dt_exits = true };

/* The n characters at s are exactly the string lit. */
static bool word_equals(const char *s, const char *lit, size_t n)
{
	return strncmp(s, lit, n) == 0 && strlen(lit) == n;
}

static uint64_t parse_uint(const char *s, size_t n, bool *ok)
{
	uint64_t v = 0;
	*ok = n > 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9') {
			*ok = false;
			return 0;
		}
		v = v * DECIMAL_BASE + (uint64_t)(s[i] - '0');
	}
	return v;
}

/* One "key=value" word of the command line. */
static void parse_option(const char *w, size_t n)
{
	size_t k = 0;
	while (k < n && w[k] != '=')
		k++;
	if (k == n) {
		if (word_equals(w, "no_dt_exits", n)) /* the monitor: this CPU has no descriptor-table exiting */
			boot_config.dt_exits = false;
		else if (word_equals(w, "apicv", n)) /* the monitor virtualizes the x2APIC in hardware */
			boot_config.apicv = true;
		else if (word_equals(w, "apicv_tpr", n)) /* ... its TPR only */
			boot_config.apicv = boot_config.apicv_tpr = true;
		else if (w[0] != '/') /* GRUB may pass the image path first */
			kprintf("guest: ignoring command-line word '%.*s'\n", (int)n, w);
		return;
	}
	const char *v = w + k + 1;
	size_t vn = n - k - 1;
	bool ok = true;
	if (word_equals(w, "mem", k)) {
		if (word_equals(v, "shadow", vn))
			boot_config.mem_shadow = true;
		else if (!word_equals(v, "ept", vn))
			kprintf("guest: unknown mem=%.*s (ept assumed)\n", (int)vn, v);
	} else if (word_equals(w, "bench", k)) {
		if (word_equals(v, "smp", vn))
			boot_config.bench = boot_config.bench_smp_only = true;
		else
			boot_config.bench = parse_uint(v, vn, &ok) != 0;
	} else if (word_equals(w, "budget", k)) {
		uint64_t b = parse_uint(v, vn, &ok);
		if (ok && b >= BENCH_BUDGET_LOG2_MIN && b <= BENCH_BUDGET_LOG2_MAX)
			boot_config.bench_budget_log2 = (unsigned)b;
		else
			ok = false;
	} else if (word_equals(w, "cpus", k)) {
		uint64_t n = parse_uint(v, vn, &ok);
		if (ok && n >= 1 && n <= 1024)
			boot_config.cpus_max = (unsigned)n;
		else
			ok = false;
	} else if (word_equals(w, "test", k)) {
		if (vn < sizeof(boot_config.test)) {
			memcpy(boot_config.test, v, vn);
			boot_config.test[vn] = 0;
		} else {
			ok = false;
		}
	} else if (!hostile_option(w, k, v, vn, &ok)) {
		kprintf("guest: ignoring unknown option '%.*s'\n", (int)n, w);
	}
	if (!ok)
		kprintf("guest: bad value in '%.*s' (ignored)\n", (int)n, w);
}

static void parse_cmdline(const char *s)
{
	while (*s) {
		while (*s == ' ')
			s++;
		const char *w = s;
		while (*s && *s != ' ')
			s++;
		if (s > w)
			parse_option(w, (size_t)(s - w));
	}
}

static void add_ram(uint64_t base, uint64_t length)
{
	if (boot_config.nr_ram == MEMMAP_MAX) {
		kprintf("guest: memory map has more than %u available regions; ignoring the rest\n", MEMMAP_MAX);
		return;
	}
	boot_config.ram[boot_config.nr_ram++] = (struct mem_region){ base, length };
	if (base + length > boot_config.guest_mem)
		boot_config.guest_mem = base + length;
}

void multiboot2_parse(uint32_t magic, uint32_t info)
{
	if (magic != MB2_BOOTLOADER_MAGIC)
		panic("not started by a Multiboot2 loader (EAX=%#x)", magic);
	const struct mb2_info_header *h = (const void *)(uintptr_t)info;
	if (!info || h->total_size < sizeof(*h) || h->total_size > MB2_INFO_MAX_SIZE)
		panic("bad Multiboot2 information at %#x", info);

	boot_config.info_base = info;
	boot_config.info_size = h->total_size;
	uint64_t meminfo_upper_kib = 0;
	const uint8_t *p = (const uint8_t *)h + sizeof(*h);
	const uint8_t *end = (const uint8_t *)h + h->total_size;
	while (p + sizeof(struct mb2_tag) <= end) {
		const struct mb2_tag *t = (const void *)p;
		if (t->type == MB2_TAG_END || t->size < sizeof(*t) || p + t->size > end)
			break;
		if (t->type == MB2_TAG_CMDLINE) {
			size_t n = t->size - sizeof(*t);
			if (n >= CMDLINE_MAX)
				n = CMDLINE_MAX - 1;
			memcpy(boot_config.cmdline, p + sizeof(*t), n);
			boot_config.cmdline[n] = 0;
		} else if (t->type == MB2_TAG_BASIC_MEMINFO && t->size >= sizeof(struct mb2_tag_meminfo)) {
			meminfo_upper_kib = ((const struct mb2_tag_meminfo *)t)->mem_upper;
		} else if ((t->type == MB2_TAG_ACPI_NEW || (t->type == MB2_TAG_ACPI_OLD && boot_config.acpi_tag != MB2_TAG_ACPI_NEW))) {
			/* Multiboot2 3.6.12-13: a copy of the RSDP; checked by guest/acpi.c. */
			const uint32_t n = t->size - sizeof(*t);
			boot_config.acpi_tag = t->type;
			boot_config.acpi_rsdp_len = n;
			memset(boot_config.acpi_rsdp, 0, sizeof(boot_config.acpi_rsdp));
			memcpy(boot_config.acpi_rsdp, p + sizeof(*t), n < ACPI_RSDP_COPY_MAX ? n : ACPI_RSDP_COPY_MAX);
		} else if (t->type == MB2_TAG_MMAP && t->size >= sizeof(struct mb2_tag_mmap)) {
			const struct mb2_tag_mmap *m = (const void *)t;
			if (m->entry_size >= sizeof(struct mb2_mmap_entry))
				for (const uint8_t *e = p + sizeof(*m); e + m->entry_size <= p + t->size; e += m->entry_size) {
					const struct mb2_mmap_entry *me = (const void *)e;
					if (me->type == MB2_MEMORY_AVAILABLE && me->length)
						add_ram(me->base_addr, me->length);
				}
		}
		p += ALIGN_UP(t->size, MB2_TAG_ALIGN);
	}
	/* No memory map: the basic meminfo says how much lies above 1 MiB. */
	if (!boot_config.nr_ram && meminfo_upper_kib)
		add_ram(MIB, meminfo_upper_kib * KIB);
	if (!boot_config.nr_ram)
		panic("the boot information has no memory map and no basic meminfo");
	parse_cmdline(boot_config.cmdline);
}
