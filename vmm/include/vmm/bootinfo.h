/*
 * The boot-information structure: the one hand-off format between a loader
 * (the gnu-efi loader in boot/efi, or the Multiboot2 parser in vmm/loader/boot_mb2.c)
 * and the monitor core.  After the hand-off the monitor depends on neither
 * UEFI nor GRUB: everything it needs from them is in here.
 *
 * All addresses are physical.  The structure has a fixed layout (no pointers)
 * so a loader built with another ABI (the EFI application) fills it the same way.
 */
#ifndef VMM_BOOTINFO_H
#define VMM_BOOTINFO_H

#include <stdint.h>

#define BOOTINFO_MAGIC   0x49425648u /* "HVBI" little-endian */
#define BOOTINFO_VERSION 3u

#define BOOTINFO_MAX_MEM_RANGES 256
#define BOOTINFO_CMDLINE_MAX    512
/*
 * The one limit on the monitor's command line, in characters, on every boot path (GRUB's
 * multiboot2 line, the UEFI loader's arguments, load options or CMDLINE.TXT).  A longer line is
 * refused (status 65), never cut: cmdline_length below tells the monitor it was longer.
 */
#define BOOTINFO_CMDLINE_LEN_MAX (BOOTINFO_CMDLINE_MAX - 1)
#define BOOTINFO_NAME_MAX       64
/* Processors a loader may list from the firmware (the UEFI loader: EFI_MP_SERVICES_PROTOCOL). */
#define BOOTINFO_MAX_CPUS       256

/* Memory-range types, after each loader has translated its own types. */
#define BOOTINFO_MEM_TYPES(X)                                                  \
	X(BI_MEM_USABLE,       1, "usable")                                    \
	X(BI_MEM_RESERVED,     2, "reserved")                                  \
	X(BI_MEM_ACPI_RECLAIM, 3, "ACPI reclaimable")                          \
	X(BI_MEM_ACPI_NVS,     4, "ACPI NVS")                                  \
	X(BI_MEM_BAD,          5, "bad")                                       \
	X(BI_MEM_LOADER,       6, "loader")   /* loader code/data: kept */     \
	X(BI_MEM_FIRMWARE,     7, "firmware") /* UEFI runtime services */      \
	X(BI_MEM_MMIO,         8, "MMIO")

enum bootinfo_mem_type {
#define X(name, value, text) name = value,
	BOOTINFO_MEM_TYPES(X)
#undef X
};

enum bootinfo_source {
	BI_SOURCE_MULTIBOOT2 = 1,
	BI_SOURCE_UEFI       = 2,
};

struct bootinfo_mem_range {
	uint64_t base;
	uint64_t length;
	uint32_t type;  /* enum bootinfo_mem_type */
	uint32_t reserved;
};

/*
 * framebuffer_type, as in Multiboot2 1.0, 3.6.12 "Framebuffer info".  The UEFI loader
 * describes GOP's pixel formats (UEFI 2.10, 12.9) as BI_FB_TYPE_RGB.
 */
enum bootinfo_fb_type {
	BI_FB_TYPE_INDEXED = 0,
	BI_FB_TYPE_RGB = 1,      /* direct colour: the field positions and mask sizes below */
	BI_FB_TYPE_EGA_TEXT = 2,
};

struct bootinfo_framebuffer {
	uint64_t addr;  /* 0: none */
	uint32_t width, height, pitch, bpp;
	uint8_t type;   /* enum bootinfo_fb_type */
	uint8_t red_field_position, red_mask_size;
	uint8_t green_field_position, green_mask_size;
	uint8_t blue_field_position, blue_mask_size;
	uint8_t reserved;
};

struct bootinfo {
	uint32_t magic;   /* BOOTINFO_MAGIC */
	uint32_t version; /* BOOTINFO_VERSION */
	uint32_t source;  /* enum bootinfo_source */
	uint32_t mem_count;
	struct bootinfo_mem_range mem[BOOTINFO_MAX_MEM_RANGES];
	char cmdline[BOOTINFO_CMDLINE_MAX];      /* NUL-terminated, ASCII */
	char loader_name[BOOTINFO_NAME_MAX];     /* e.g. "GRUB 2.06", "hv-efi-loader" */
	uint64_t guest_image;                    /* physical address; 0: no guest given */
	uint64_t guest_size;                     /* bytes */
	uint64_t monitor_start, monitor_end;     /* [start, end) of the loaded monitor */
	uint64_t acpi_rsdp;                      /* 0: unknown */
	struct bootinfo_framebuffer fb;
	uint32_t cmdline_length;                 /* of the loader's whole command line; > BOOTINFO_CMDLINE_LEN_MAX: refused */
	/*
	 * The processors the firmware itself started and listed before the hand-off (UEFI PI spec,
	 * EFI_MP_SERVICES_PROTOCOL: GetNumberOfProcessors, GetProcessorInfo), for machines whose
	 * firmware gives no ACPI MADT.  cpu_count 0: the loader did not ask (GRUB) or the firmware
	 * had no answer.  Only enabled and healthy processors are listed, the bootstrap one included.
	 */
	uint32_t cpu_count;
	uint32_t cpu_bsp_apic_id;                /* the processor that ran the loader */
	uint32_t cpu_apic_id[BOOTINFO_MAX_CPUS]; /* ProcessorId: the local APIC ID */
	uint32_t cpu_total;                      /* every processor the firmware knows, listed or not */
};

#endif
