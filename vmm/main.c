/*
 * The monitor's start: both boot paths arrive in hv_main() with a filled
 * struct bootinfo.  From here on nothing of UEFI or GRUB is used.
 */
#include <stdint.h>
#include <string.h>
#include <arch/cpuid.h>
#include <arch/io.h>
#include "vmm/acpi.h"
#include "vmm/boot.h"
#include "vmm/cmdline.h"
#include "vmm/cpu.h"
#include "vmm/pcpu.h"
#include "vmm/cpu_report.h"
#include "vmm/format.h"
#include "vmm/log.h"
#include "vmm/multiboot2.h"
#include "vmm/memmap.h"
#include "vmm/mptable.h"
#include "vmm/paging.h"
#include "vmm/pmm.h"
#include "vmm/power.h"
#include "vmm/screen.h"
#include "vmm/serial.h"
#include "vmm/status.h"
#include "vmm/vmm.h"

#define LOW_MEMORY_END (1ull << 20)       /* the first MiB is never allocated */
#define BOOT_MAP_END   (4ull << 30)       /* entry.asm's boot page tables identity-map [0, 4 GiB) */
#define MAPPED_EVERYWHERE UINT64_MAX      /* vmm/mm/host/paging.c maps the framebuffer wherever it is */

struct bootinfo hv_bootinfo;
const uint64_t hv_bootinfo_size = sizeof(struct bootinfo);

static struct hv_config config;
#define NONCANONICAL_ADDRESS 0x8000000000000000ull /* bits 63:47 not all equal */
static struct pmm pmm;

/* 8259A PIC data ports (OCW1 = interrupt mask): the monitor never takes interrupts. */
#define PIC_MASTER_DATA 0x21
#define PIC_SLAVE_DATA  0xa1
#define PIC_MASK_ALL    0xff

static void early_init(void)
{
	pcpu_init(0, NULL); /* the bootstrap processor */
	/*
	 * Mask the legacy PICs the firmware may have left running (a BIOS programs
	 * the PIT on IRQ 0): their interrupts would only cause external-interrupt
	 * exits while the guest runs.  Harmless on machines without a legacy PIC.
	 */
	outb(PIC_MASTER_DATA, PIC_MASK_ALL);
	outb(PIC_SLAVE_DATA, PIC_MASK_ALL);
}

/*
 * Bring up the serial port the command line's serial= option names (COM1 at 115200 8N1 by
 * default, or without usable boot information).  Runs before the command line is parsed for
 * real: a quiet parse picks serial= out, and hv_main reports any problem on the port chosen here.
 */
static void serial_start(const struct bootinfo *bi)
{
	static struct hv_config early; /* static: hv_config holds the guest's arguments */
	uint64_t serial = HV_SERIAL_DEFAULT;
	char chosen[HV_SERIAL_TEXT_MAX];

	if (bi != 0 && bi->cmdline_length <= BOOTINFO_CMDLINE_LEN_MAX) {
		hv_config_defaults(&early);
		(void)hv_cmdline_parse(bi->cmdline, &early, 0, 0);
		serial = early.serial;
	}
	if (serial_init(HV_SERIAL_PORT(serial), HV_SERIAL_BAUD(serial)) || serial == HV_SERIAL_OFF ||
	    HV_SERIAL_PORT(serial) == SERIAL_COM1_BASE)
		return;
	/* Nothing answers at the port asked for: fall back to COM1 and say so there. */
	serial_init(SERIAL_COM1_BASE, SERIAL_DEFAULT_BAUD);
	hv_serial_describe(chosen, sizeof(chosen), serial);
	log_warn("serial=%s: no 16550 UART answers at I/O port %#x (its scratch register reads back wrong); "
		 "the log stays on COM1 (0x3f8, 115200 8N1): check the port in the firmware setup or lspci",
		 chosen, HV_SERIAL_PORT(serial));
}

__attribute__((noreturn)) void hv_main_multiboot2(uint32_t magic, uint32_t info)
{
	const char *why = "";
	early_init();
	if (magic != MB2_BOOTLOADER_MAGIC) {
		serial_start(0);
		log_error("entered through the Multiboot2 entry with magic %#x instead of %#x: "
			  "boot this image with GRUB's 'multiboot2' command", magic, MB2_BOOTLOADER_MAGIC);
		hv_power_off(HV_ERR_BOOTINFO);
	}
	if (multiboot2_to_bootinfo((const void *)(uintptr_t)info, &hv_bootinfo, &why) != 0) {
		serial_start(0);
		log_error("unusable Multiboot2 information: %s", why);
		hv_power_off(HV_ERR_BOOTINFO);
	}
	serial_start(&hv_bootinfo);
	hv_main(&hv_bootinfo);
}

__attribute__((noreturn)) void hv_main_efi(void)
{
	early_init(); /* entry.asm already copied the loader's bootinfo into hv_bootinfo */
	/* A loader of another version may lay the bootinfo out differently: hv_main refuses it on COM1. */
	serial_start(hv_bootinfo.magic == BOOTINFO_MAGIC && hv_bootinfo.version == BOOTINFO_VERSION ? &hv_bootinfo : 0);
	hv_main(&hv_bootinfo);
}

/* The machine's CPUs, from the firmware's ACPI tables (vmm/platform/acpi.c). */
static struct acpi_cpus machine_cpus;

/* ACPI tables as the boot map shows them: the identity map of [0, BOOT_MAP_END) (vmm/platform/entry.asm). */
static const void *acpi_map(void *ctx, uint64_t pa, uint64_t len)
{
	(void)ctx;
	if (pa > BOOT_MAP_END || len > BOOT_MAP_END - pa)
		return 0;
	return phys_to_virt(pa);
}

/* The firmware's list of CPUs, as the UEFI loader copied it from EFI_MP_SERVICES_PROTOCOL. */
static bool cpus_from_loader(const struct bootinfo *bi, struct acpi_cpus *out)
{
	if (!bi->cpu_count || bi->cpu_count > BOOTINFO_MAX_CPUS)
		return false;
	memset(out, 0, sizeof(*out));
	for (unsigned i = 0; i < bi->cpu_count && i < ACPI_MAX_CPUS; i++)
		out->cpu[out->count++] = (struct acpi_cpu){ .apic_id = bi->cpu_apic_id[i], .acpi_uid = i };
	return true;
}

static void list_cpus(const char *source)
{
	char ids[96];
	unsigned n = 0;
	for (unsigned i = 0; i < machine_cpus.count && n < sizeof(ids) - 12; i++)
		n += (unsigned)hv_snprintf(ids + n, sizeof(ids) - n, "%s%u", i ? " " : "", machine_cpus.cpu[i].apic_id);
	log_info("CPUs: %u in %s, APIC IDs %s%s", machine_cpus.count, source, ids,
		 n >= sizeof(ids) - 12 && machine_cpus.count > 1 ? " ..." : "");
}

/* BIOS data area (IBM PC/AT BIOS, kept by every PC BIOS): the EBDA's segment and the base memory size. */
#define BDA_EBDA_SEGMENT   0x40e
#define BDA_BASE_MEM_KIB   0x413
#define REAL_MODE_SEGMENT_SHIFT 4
#define KIB                1024u

/* A word of the BIOS data area, in the first page of the identity map. */
static uint16_t bda_read16(uint64_t pa)
{
	const volatile uint16_t *p = phys_to_virt(pa);
	__asm__("" : "+r"(p)); /* a low constant address is not a null-pointer dereference: hide it from -Warray-bounds */
	return *p;
}

/* The Intel MP table that a legacy BIOS leaves (vmm/platform/mptable.c), searched where MP spec 1.4 says. */
static int cpus_from_mptable(const struct acpi_mem *mem, struct acpi_cpus *out, char *why, size_t why_len)
{
	const uint64_t ebda = (uint64_t)bda_read16(BDA_EBDA_SEGMENT) << REAL_MODE_SEGMENT_SHIFT;
	const uint64_t base_end = (uint64_t)bda_read16(BDA_BASE_MEM_KIB) * KIB;
	return mptable_find_cpus(mem, ebda, base_end, out, why, why_len);
}

/*
 * Before the frame allocator hands out anything: with GRUB the RSDP is a copy inside the
 * Multiboot2 information, in memory the allocator may later reuse.  cpu_tables=auto: the ACPI
 * MADT first; else the list the UEFI loader got from the firmware's MP services; else the MP
 * table of a legacy BIOS; else this processor alone, and why.
 */
static void find_cpus(const struct bootinfo *bi, uint32_t tables)
{
	static const struct acpi_mem mem = { acpi_map, 0 };
	const bool any = tables == HV_CPU_TABLES_AUTO;
	char why_madt[160] = "not searched", why_mp[160] = "not searched", source[200];

	if (tables == HV_CPU_TABLES_NONE) {
		memset(&machine_cpus, 0, sizeof(machine_cpus));
		log_info("CPUs: cpu_tables=none: the monitor runs on the processor it started on alone");
		return;
	}
	if ((any || tables == HV_CPU_TABLES_MADT) &&
	    acpi_find_cpus(&mem, bi->acpi_rsdp, &machine_cpus, why_madt, sizeof(why_madt)) == 0) {
		hv_snprintf(source, sizeof(source), "the ACPI MADT (%s, local APIC at %#llx)",
			    machine_cpus.used_xsdt ? "XSDT" : "RSDT", (unsigned long long)machine_cpus.lapic_base);
		list_cpus(source);
		if (machine_cpus.dropped)
			log_warn("CPU discovery: %u more enabled CPUs than the %d the monitor lists", machine_cpus.dropped,
				 ACPI_MAX_CPUS);
		return;
	}
	if ((any || tables == HV_CPU_TABLES_EFI) && cpus_from_loader(bi, &machine_cpus)) {
		hv_snprintf(source, sizeof(source), "the firmware's MP services (no ACPI MADT: %s)", why_madt);
		list_cpus(source);
		return;
	}
	if ((any || tables == HV_CPU_TABLES_MPTABLE) &&
	    cpus_from_mptable(&mem, &machine_cpus, why_mp, sizeof(why_mp)) == 0) {
		hv_snprintf(source, sizeof(source), "the MP table (spec 1.%u, local APIC at %#llx)%s%s",
			    machine_cpus.revision, (unsigned long long)machine_cpus.lapic_base, why_mp[0] ? ": " : "",
			    why_mp);
		list_cpus(source);
		if (machine_cpus.dropped)
			log_warn("CPU discovery: %u more enabled CPUs than the %d the monitor lists", machine_cpus.dropped,
				 ACPI_MAX_CPUS);
		return;
	}
	memset(&machine_cpus, 0, sizeof(machine_cpus));
	log_warn("CPU discovery: no ACPI MADT (%s), no list from the UEFI loader%s, no MP table (%s): the monitor "
		 "runs on the processor it started on alone", why_madt,
		 bi->source == BI_SOURCE_UEFI ? " (it found no EFI_MP_SERVICES_PROTOCOL)" : " (GRUB gives none)", why_mp);
}

static void report_cmdline_problem(void *ctx, const char *msg)
{
	(void)ctx;
	log_error("%s", msg);
}

static void report_help(void *ctx, const char *msg)
{
	(void)ctx;
	log_info("%s", msg);
}

static void print_memory_map(const struct bootinfo *bi)
{
	log_info("memory map (%u ranges, %llu MiB usable above 1 MiB):", bi->mem_count,
		 (unsigned long long)(memmap_usable_bytes(bi->mem, bi->mem_count, LOW_MEMORY_END) >> 20));
	for (unsigned i = 0; i < bi->mem_count; i++)
		log_debug("  [0x%012llx-0x%012llx) %s", (unsigned long long)bi->mem[i].base,
			  (unsigned long long)(bi->mem[i].base + bi->mem[i].length), memmap_type_name(bi->mem[i].type));
}

static void init_memory(struct bootinfo *bi)
{
	struct pmm_exclusion excl[3] = {
		{ (uint64_t)(uintptr_t)hv_image_start, (uint64_t)(uintptr_t)hv_image_end, "monitor image" },
	};
	unsigned nexcl = 1;

	if (bi->guest_image)
		excl[nexcl++] = (struct pmm_exclusion){ bi->guest_image, bi->guest_image + bi->guest_size, "guest image" };
	/* Never hand out the framebuffer (it would become guest RAM), even where the memory map calls it usable. */
	if (screen_fb_size(&bi->fb))
		excl[nexcl++] = (struct pmm_exclusion){ bi->fb.addr, bi->fb.addr + screen_fb_size(&bi->fb), "framebuffer" };

	if (memmap_normalize(bi->mem, &bi->mem_count, BOOTINFO_MAX_MEM_RANGES) != 0) {
		log_error("the memory map has too many ranges to normalise (more than %d)", BOOTINFO_MAX_MEM_RANGES);
		hv_power_off(HV_ERR_BOOTINFO);
	}
	print_memory_map(bi);
	if (pmm_init(&pmm, bi->mem, bi->mem_count, excl, nexcl, LOW_MEMORY_END) != 0) {
		log_error("no usable RAM above 1 MiB outside the monitor and its modules: "
			  "the firmware's memory map leaves nothing for the monitor to allocate");
		hv_power_off(HV_ERR_NO_MEMORY);
	}
	log_info("frame allocator: %llu MiB free in %u extents (largest %llu MiB)",
		 (unsigned long long)(pmm.free_pages * PMM_PAGE_SIZE >> 20), pmm.count,
		 (unsigned long long)(pmm_largest_free(&pmm) * PMM_PAGE_SIZE >> 20));
	if (paging_init(bi, &pmm) != 0) {
		log_error("out of memory while building the monitor's page tables");
		hv_power_off(HV_ERR_NO_MEMORY);
	}
	screen_init(bi, MAPPED_EVERYWHERE); /* a framebuffer above the boot map is mapped now */
}

__attribute__((noreturn)) void hv_main(struct bootinfo *bi)
{
	struct vmx_caps caps;
	int status;

	if (bi->magic == BOOTINFO_MAGIC && bi->version == BOOTINFO_VERSION)
		screen_init(bi, BOOT_MAP_END); /* first, so that the screen shows every line from here on */
	log_info("hv monitor starting (image %p-%p)", (void *)hv_image_start, (void *)hv_image_end);
	if (bi->magic != BOOTINFO_MAGIC || bi->version != BOOTINFO_VERSION) {
		log_error("boot information has magic %#x version %u, expected %#x version %u: "
			  "the loader and the monitor were built from different sources; rebuild both",
			  bi->magic, bi->version, BOOTINFO_MAGIC, BOOTINFO_VERSION);
		hv_power_off(HV_ERR_BOOTINFO);
	}
	bi->cmdline[BOOTINFO_CMDLINE_MAX - 1] = 0;
	bi->loader_name[BOOTINFO_NAME_MAX - 1] = 0;
	log_info("loaded by %s via %s", bi->loader_name[0] ? bi->loader_name : "an unnamed loader",
		 bi->source == BI_SOURCE_UEFI ? "UEFI" : "Multiboot2");
	log_info("command line: \"%s\"", bi->cmdline);
	if (bi->cmdline_length > BOOTINFO_CMDLINE_LEN_MAX) {
		log_error("the command line is %u characters long, longer than the %d the monitor takes "
			  "(BOOTINFO_CMDLINE_LEN_MAX, vmm/include/vmm/bootinfo.h); it is refused rather than run "
			  "cut short: shorten it (its first %d characters are shown above)",
			  bi->cmdline_length, BOOTINFO_CMDLINE_LEN_MAX, BOOTINFO_CMDLINE_LEN_MAX);
		hv_power_off(HV_ERR_CMDLINE);
	}

	hv_config_defaults(&config);
	if (hv_cmdline_parse(bi->cmdline, &config, report_cmdline_problem, 0) != 0) {
		log_info("the monitor's command-line options are:");
		hv_cmdline_help(report_help, 0);
		hv_power_off(HV_ERR_CMDLINE);
	}
	log_set_level(config.log);
	if (config.explicit_mask & (1u << HV_OPTIDX_serial)) {
		char where[HV_SERIAL_TEXT_MAX];
		hv_serial_describe(where, sizeof(where), config.serial);
		log_info("serial output: serial=%s (%s)", where,
			 HV_SERIAL_BAUD(config.serial) == SERIAL_BAUD_KEEP ? "the firmware's baud rate and line settings"
									    : "8N1");
	}
	if (config.brk == HV_BREAK_MONITOR_FAULT) {
		/* Test only: a non-canonical load is a #GP (SDM Vol. 3A 3.3.7.1) that the monitor's IDT must report. */
		log_warn("break=monitor_fault: the monitor reads a non-canonical address, to show its exception report");
		(void)*(volatile uint64_t *)(uintptr_t)NONCANONICAL_ADDRESS;
	}

	find_cpus(bi, config.cpu_tables);
	init_memory(bi);

	if (!bi->guest_image) {
		log_error("no guest image was given: GRUB must load it with 'module2 /boot/guest.elf guest' "
			  "(see scripts/mkiso.sh), and passes no module at all for a file that is empty or does not "
			  "fit in memory: check the file's size; the UEFI loader embeds build/guest.elf");
		hv_power_off(HV_ERR_NO_GUEST);
	}
	if (!bi->guest_size) {
		log_error("the guest image at %#llx is empty (0 bytes, or a module whose end lies before its start): "
			  "check the file the boot loader loads as the guest (a build/guest.elf from 'make')",
			  (unsigned long long)bi->guest_image);
		hv_power_off(HV_ERR_BAD_GUEST);
	}
	log_info("guest image: %llu bytes at %#llx", (unsigned long long)bi->guest_size,
		 (unsigned long long)bi->guest_image);

	status = cpu_check_vmx(&caps);
	if (status != HV_OK)
		hv_power_off(status);

	status = vmm_run(bi, &machine_cpus, &config, &caps, &pmm);
	hv_power_off(status);
}
