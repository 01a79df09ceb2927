#include <string.h>
#include <arch/paging.h>
#include "vmm/acpi_tables.h"
#include "vmm/elf.h"
#include "vmm/guest_boot.h"
#include "vmm/mmu_ops.h"
#include "vmm/log.h"
#include "vmm/memory.h"
#include "vmm/multiboot1.h"
#include "vmm/multiboot2.h"
#include "vmm/paging.h"
#include "vmm/status.h"

/* Multiboot2 information for the guest (Multiboot2 specification 3.6; vmm/multiboot2.h). */
#define LOW_MEMORY_TOP       0x9f000ull  /* conventional memory, as on a PC */
#define HIGH_MEMORY_BASE     0x100000ull
#define KIB                  1024ull
#define FOUR_GIB             (1ull << 32)
#define MB1_BOOT_LOADER_NAME "hv"   /* the Multiboot1 boot_loader_name (3.3) */
_Static_assert(GUEST_ACPI_GPA >= LOW_MEMORY_TOP && GUEST_ACPI_GPA + GUEST_ACPI_SIZE <= HIGH_MEMORY_BASE,
	       "the ACPI tables lie in the range the guest's memory map marks reserved");
_Static_assert(GUEST_ACPI_GPA % ACPI_RSDP_ALIGN == 0, "the RSDP is at GUEST_ACPI_GPA itself");


struct info_writer {
	uint8_t buf[GUEST_BOOT_INFO_SIZE];
	uint32_t len;
};

static void *add_tag(struct info_writer *w, uint32_t type, uint32_t size)
{
	struct mb2_tag *t = (struct mb2_tag *)(w->buf + w->len);
	t->type = type;
	t->size = size;
	w->len += mb2_tag_span(size);
	return t;
}

static int write_cb(void *ctx, uint64_t gpa, const void *src, uint64_t len)
{
	return vmm_guest_phys_write(ctx, gpa, src, len);
}

static int zero_cb(void *ctx, uint64_t gpa, uint64_t len)
{
	static const uint8_t zeros[PAGE_SIZE];
	while (len) {
		uint64_t n = len < PAGE_SIZE ? len : PAGE_SIZE;
		if (vmm_guest_phys_write(ctx, gpa, zeros, n) != 0)
			return -1;
		gpa += n, len -= n;
	}
	return 0;
}

/* The guest's command line: "mem=<mode>", the guest.* options, and what the guest's tests need to know. */
#define GUEST_CMDLINE_MAX (HV_GUEST_ARGS_MAX + 32)
static void guest_cmdline(const struct vcpu *v, char cmdline[GUEST_CMDLINE_MAX])
{
	const char *mode = v->mmu->name;
	size_t n;

	n = 0;
	memcpy(cmdline, "mem=", 4), n = 4;
	memcpy(cmdline + n, mode, strlen(mode)), n += strlen(mode);
	if (v->cfg->guest_args[0]) {
		cmdline[n++] = ' ';
		memcpy(cmdline + n, v->cfg->guest_args, strlen(v->cfg->guest_args)), n += strlen(v->cfg->guest_args);
	}
	if (!v->caps->desc_table_exiting) {
		/* Tell the guest's test suite that LGDT/LIDT/LLDT/LTR do not exit on this CPU. */
		static const char no_dt[] = " no_dt_exits";
		memcpy(cmdline + n, no_dt, sizeof(no_dt) - 1), n += sizeof(no_dt) - 1;
	}
	if (v->apicv != APICV_OFF) {
		/*
		 * Tell the guest's test suite which x2APIC accesses do not exit: "apicv" TPR, EOI, SELF IPI
		 * and most reads; "apicv_tpr" the TPR (and CR8) only.
		 */
		static const char full[] = " apicv", tpr[] = " apicv_tpr";
		const char *word = v->apicv == APICV_FULL ? full : tpr;
		const size_t len = v->apicv == APICV_FULL ? sizeof(full) - 1 : sizeof(tpr) - 1;
		memcpy(cmdline + n, word, len), n += len;
	}
	cmdline[n] = 0;
}

/*
 * Multiboot2 information: command line, basic memory information, memory map, and the "ACPI new RSDP"
 * tag (type 15, a copy of the RSDP: `rsdp`, `rsdp_len` bytes).
 */
static void build_boot_info(struct info_writer *w, const struct vcpu *v, const void *rsdp, uint32_t rsdp_len)
{
	const uint64_t ram = v->cfg->guest_mem;
	char cmdline[GUEST_CMDLINE_MAX];
	size_t n;

	memset(w, 0, sizeof(*w));
	w->len = 2 * sizeof(uint32_t); /* total_size, reserved */
	guest_cmdline(v, cmdline);
	n = strlen(cmdline) + 1;
	memcpy((uint8_t *)add_tag(w, MB2_TAG_CMDLINE, sizeof(struct mb2_tag) + n) + sizeof(struct mb2_tag), cmdline, n);

	struct mb2_tag_meminfo *mi = add_tag(w, MB2_TAG_BASIC_MEMINFO, sizeof(*mi));
	mi->mem_lower = LOW_MEMORY_TOP / KIB;
	mi->mem_upper = (uint32_t)((ram - HIGH_MEMORY_BASE) / KIB);

	const struct mb2_mmap_entry entries[] = {
		{ 0, LOW_MEMORY_TOP, MB2_MEMORY_AVAILABLE, 0 },
		{ LOW_MEMORY_TOP, HIGH_MEMORY_BASE - LOW_MEMORY_TOP, MB2_MEMORY_RESERVED, 0 },
		{ HIGH_MEMORY_BASE, ram - HIGH_MEMORY_BASE, MB2_MEMORY_AVAILABLE, 0 },
	};
	struct mb2_tag_mmap *mm = add_tag(w, MB2_TAG_MMAP, sizeof(*mm) + sizeof(entries));
	mm->entry_size = sizeof(struct mb2_mmap_entry);
	mm->entry_version = MB2_MMAP_ENTRY_VERSION;
	memcpy(mm + 1, entries, sizeof(entries));

	uint8_t *acpi = add_tag(w, MB2_TAG_ACPI_NEW, sizeof(struct mb2_tag) + rsdp_len);
	memcpy(acpi + sizeof(struct mb2_tag), rsdp, rsdp_len);

	add_tag(w, MB2_TAG_END, sizeof(struct mb2_tag));
	((struct mb2_info_header *)w->buf)->total_size = w->len;
	log_info("guest command line: \"%s\"", cmdline);
}

/*
 * The guest's RSDP, XSDT and MADT for nr_vcpus vCPUs, written into guest RAM at GUEST_ACPI_GPA; the
 * RSDP is copied to `rsdp` for the boot information.  0, or -1 with the reason printed.
 */
static int write_acpi_tables(struct vcpu *v, unsigned nr_vcpus, uint8_t rsdp[ACPI_RSDP_LENGTH])
{
	static uint8_t tables[GUEST_ACPI_SIZE];
	struct acpi_tables_layout lay;
	const int rc = acpi_tables_build(tables, sizeof(tables), GUEST_ACPI_GPA, nr_vcpus, &lay);

	if (rc != ACPI_TABLES_OK) {
		log_error("no ACPI tables for %u vCPUs: %s", nr_vcpus, rc == ACPI_TABLES_NO_VCPUS ?
			  "a VM needs at least one vCPU" : "they do not fit in the space for them");
		if (rc != ACPI_TABLES_NO_VCPUS)
			log_error("they need %llu bytes at %#llx, there are %llu",
				  (unsigned long long)acpi_tables_size(GUEST_ACPI_GPA, nr_vcpus),
				  (unsigned long long)GUEST_ACPI_GPA, (unsigned long long)sizeof(tables));
		return -1;
	}
	if (vmm_guest_phys_write(v->mem, GUEST_ACPI_GPA, tables, lay.total_len) != 0) {
		log_error("writing the ACPI tables to guest RAM at %#llx failed", (unsigned long long)GUEST_ACPI_GPA);
		return -1;
	}
	memcpy(rsdp, tables + lay.rsdp_off, ACPI_RSDP_LENGTH);
	log_info("guest ACPI tables: RSDP at %#llx, XSDT, MADT with %u local APICs",
		 (unsigned long long)(GUEST_ACPI_GPA + lay.rsdp_off), lay.lapic_entries + lay.x2apic_entries);
	return 0;
}

/* Whether a loaded segment overlaps [base, base + size). */
static bool segment_overlaps(const struct elf_segment *seg, uint64_t base, uint64_t size)
{
	return seg->memsz && seg->paddr < base + size && seg->paddr + seg->memsz > base;
}

/* Multiboot2 (the monitor's own guest's format): an ELF64 x86-64 executable. */
static int prepare_multiboot2(struct vcpu *v, const void *image, uint64_t size, struct vcpu_start *start,
			      unsigned nr_vcpus)
{
	static struct elf_image img;
	static struct info_writer info;
	char why[ELF_WHY_LEN];
	uint8_t rsdp[ACPI_RSDP_LENGTH];

	if (elf_parse(image, size, v->cfg->guest_mem, &img, why, sizeof(why)) != 0) {
		log_error("the guest image is not a loadable ELF64 x86-64 executable: %s", why);
		log_error("rebuild it (make build/guest.elf) or pass a valid image as the 'guest' module");
		return HV_ERR_BAD_GUEST;
	}
	for (unsigned i = 0; i < img.nsegs; i++) {
		const bool info_page = segment_overlaps(&img.seg[i], GUEST_BOOT_INFO_GPA, GUEST_BOOT_INFO_SIZE);
		if (info_page || segment_overlaps(&img.seg[i], GUEST_ACPI_GPA, GUEST_ACPI_SIZE)) {
			log_error("guest segment %u [%#llx-%#llx) overlaps the %s at %#llx: link the guest above 1 MiB",
				  img.seg[i].index, (unsigned long long)img.seg[i].paddr,
				  (unsigned long long)(img.seg[i].paddr + img.seg[i].memsz),
				  info_page ? "boot information page" : "ACPI tables",
				  (unsigned long long)(info_page ? GUEST_BOOT_INFO_GPA : GUEST_ACPI_GPA));
			return HV_ERR_BAD_GUEST;
		}
	}
	if (img.entry_gpa >= FOUR_GIB) {
		log_error("guest entry point %#llx is above 4 GiB: a 32-bit entry is required",
			  (unsigned long long)img.entry_gpa);
		return HV_ERR_BAD_GUEST;
	}
	if (elf_load(image, &img, write_cb, zero_cb, v->mem) != 0) {
		log_error("loading the guest image into guest RAM failed");
		return HV_ERR_BAD_GUEST;
	}
	log_info("guest image loaded: %u segments in [%#llx-%#llx), entry %#llx", img.nsegs,
		 (unsigned long long)img.lowest, (unsigned long long)img.highest, (unsigned long long)img.entry_gpa);

	if (write_acpi_tables(v, nr_vcpus, rsdp) != 0)
		return HV_ERR_GENERIC;
	build_boot_info(&info, v, rsdp, sizeof(rsdp));
	if (vmm_guest_phys_write(v->mem, GUEST_BOOT_INFO_GPA, info.buf, info.len) != 0)
		return HV_ERR_GENERIC;
	start->mode = START_PROTECTED32_FLAT; /* Multiboot2 3.3 "I386 machine state" */
	start->rip = img.entry_gpa;
	start->rax = MB2_BOOTLOADER_MAGIC;
	start->rbx = GUEST_BOOT_INFO_GPA;
	return HV_OK;
}

/*
 * Multiboot1 (Multiboot 0.6.96): the whole image is checked (vmm/loader/boot_mb1.c) before a byte is
 * loaded; the information (3.3) goes in the boot information page, the ACPI tables where an OS that
 * scans 0xE0000-0xFFFFF for the RSDP finds them (Multiboot1 has no field for them).
 */
static int prepare_multiboot1(struct vcpu *v, const void *image, uint64_t size, struct vcpu_start *start,
			      unsigned nr_vcpus)
{
	static struct mb1_image img;
	static uint8_t info[GUEST_BOOT_INFO_SIZE];
	static const struct mb1_range reserved[] = {
		{ GUEST_BOOT_INFO_GPA, GUEST_BOOT_INFO_SIZE, "boot information page" },
		{ LOW_MEMORY_TOP, HIGH_MEMORY_BASE - LOW_MEMORY_TOP, "reserved range (ACPI tables, VM86 TSS)" },
	};
	char why[MB1_WHY_LEN];
	char cmdline[GUEST_CMDLINE_MAX];
	uint8_t rsdp[ACPI_RSDP_LENGTH];
	const uint64_t ram = v->cfg->guest_mem;

	if (mb1_parse(image, size, ram, reserved, sizeof(reserved) / sizeof(reserved[0]), &img, why, sizeof(why)) != 0) {
		log_error("the guest image is not a loadable Multiboot1 kernel: %s", why);
		return HV_ERR_BAD_GUEST;
	}
	log_info("guest image: Multiboot1 header at offset 0x%x, flags 0x%x, %s", img.header_offset, img.header.flags,
		 img.aout_kludge ? "loaded by its address fields (a.out kludge)" :
		 img.elf_class == ELF_CLASS32 ? "ELF32" : "ELF64");
	for (unsigned bit = 0; bit < 32; bit++) {
		if (!(img.header.flags & (1u << bit)))
			continue;
		const char *text = mb1_header_flag_text(bit);
		if ((1u << bit) == MB1_HEADER_VIDEO_MODE)
			log_warn("Multiboot1 flag %u: %s", bit, text);
		else
			log_info("Multiboot1 flag %u: %s", bit, text ? text : "unknown optional flag, ignored");
	}
	if (elf_load(image, &img.load, write_cb, zero_cb, v->mem) != 0) {
		log_error("loading the guest image into guest RAM failed");
		return HV_ERR_BAD_GUEST;
	}
	log_info("guest image loaded: %u segments in [%#llx-%#llx), entry %#llx", img.load.nsegs,
		 (unsigned long long)img.load.lowest, (unsigned long long)img.load.highest,
		 (unsigned long long)img.load.entry_gpa);
	if (write_acpi_tables(v, nr_vcpus, rsdp) != 0)
		return HV_ERR_GENERIC;

	/* The same memory map as the Multiboot2 information's. */
	const struct mb1_mmap_entry mmap[] = {
		{ 0, 0, LOW_MEMORY_TOP, MB1_MEMORY_AVAILABLE },
		{ 0, LOW_MEMORY_TOP, HIGH_MEMORY_BASE - LOW_MEMORY_TOP, MB1_MEMORY_RESERVED },
		{ 0, HIGH_MEMORY_BASE, ram - HIGH_MEMORY_BASE, MB1_MEMORY_AVAILABLE },
	};
	guest_cmdline(v, cmdline);
	const struct mb1_info_params params = {
		.mem_lower_bytes = LOW_MEMORY_TOP, .mem_upper_bytes = ram - HIGH_MEMORY_BASE,
		.mmap = mmap, .mmap_count = sizeof(mmap) / sizeof(mmap[0]),
		.cmdline = cmdline, .boot_loader_name = MB1_BOOT_LOADER_NAME,
	};
	const uint32_t len = mb1_info_build(info, sizeof(info), GUEST_BOOT_INFO_GPA, &params);
	if (len == 0) {
		log_error("the Multiboot1 information does not fit in its %llu-byte page: shorten the guest.* options",
			  (unsigned long long)sizeof(info));
		return HV_ERR_GENERIC;
	}
	if (vmm_guest_phys_write(v->mem, GUEST_BOOT_INFO_GPA, info, len) != 0)
		return HV_ERR_GENERIC;
	log_info("guest command line: \"%s\"", cmdline);
	start->mode = START_PROTECTED32_FLAT; /* Multiboot 0.6.96 3.2 "Machine state" */
	start->rip = img.load.entry_gpa;
	start->rax = MB1_BOOTLOADER_MAGIC;
	start->rbx = GUEST_BOOT_INFO_GPA;
	return HV_OK;
}

/*
 * The format is the image's own: its Multiboot2 header first, then its Multiboot1 header.  Multiboot2
 * first because a kernel may carry both (to boot from either kind of loader), and the Multiboot2
 * information is the richer one (the ACPI RSDP tag, 64-bit memory map by design); it also keeps every
 * image that loaded before Multiboot1 support loading the same way.
 */
int guest_boot_prepare(struct vcpu *v, const struct bootinfo *bi, struct vcpu_start *start, unsigned nr_vcpus)
{
	const void *image = phys_to_virt(bi->guest_image);
	const uint64_t size = bi->guest_size;
	struct mb1_header h1;
	uint32_t offset;
	char why[MB1_WHY_LEN];

	const int mb2 = mb2_header_find(image, size, &offset, why, sizeof(why));
	if (mb2 < 0) {
		log_error("the guest image is refused: %s", why);
		return HV_ERR_BAD_GUEST;
	}
	if (mb2 > 0) {
		log_info("guest image: Multiboot2 header at offset 0x%x", offset);
		return prepare_multiboot2(v, image, size, start, nr_vcpus);
	}
	switch (mb1_header_find(image, size, &h1, &offset, why, sizeof(why))) {
	case MB1_HEADER_FOUND:
		return prepare_multiboot1(v, image, size, start, nr_vcpus);
	case MB1_HEADER_BAD:
		log_error("the guest image is refused: %s", why);
		return HV_ERR_BAD_GUEST;
	case MB1_HEADER_ABSENT:
		break;
	}
	log_error("the guest image (%llu bytes) has neither a Multiboot2 header (in its first %u bytes) nor a "
		  "Multiboot1 header (in its first %u bytes)%s%s", (unsigned long long)size, MB2_HEADER_SEARCH_LIMIT,
		  MB1_SEARCH_LIMIT, why[0] ? "; " : "", why);
	log_error("give a Multiboot2 ELF64 or Multiboot1 (ELF32, ELF64 or a.out kludge) kernel as the 'guest' "
		  "module (README 'Guest images'), e.g. build/guest.elf");
	return HV_ERR_BAD_GUEST;
}
