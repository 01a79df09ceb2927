/*
 * hv-efi-loader: efi_main.
 *
 *   1. banner, watchdog off, command line; the checks the monitor would fail
 *      (options, VT-x) and Secure Boot, shown on screen, with a pause
 *      (efi_wait=) when the monitor is going to stop;
 *   2. monitor (embedded build/hv.elf) loaded wherever there is room below 4 GiB
 *      (after the test hook efi.reserve=, boot/efi/reserve.c);
 *   3. guest (embedded build/guest.elf) copied below 4 GiB, as bytes;
 *   4. bootinfo: ACPI RSDP, the firmware's processor list, GOP framebuffer, command line, images;
 *   5. memory map -> bootinfo, ExitBootServices (retried on a stale map key);
 *   6. cli, jump to the monitor's hv_efi_entry(bootinfo) (System V ABI).
 * Everything is allocated before the final GetMemoryMap; after
 * ExitBootServices only raw COM1 output is used.
 */
#include <vmm/cmdline.h>
#include <vmm/format.h>
#include <vmm/status.h>

#include "cpus.h"
#include "loader.h"

/* ExitBootServices tries: a stale map key (another agent changed the map) is retried. */
#define EBS_ATTEMPTS_MAX 8
/* Room for the map to grow between sizing it and the final GetMemoryMap (our own allocations). */
#define MEMMAP_SLACK_DESCRIPTORS 16
/* The guest copy and the bootinfo stay below 4 GiB (the monitor's boot page tables map [0, 4 GiB)). */
#define BELOW_4GIB_MAX_ADDRESS 0xffffffffull
/* On a failure, how long the message stays on screen before returning to the firmware. */
#define ERROR_PAUSE_SECONDS 10
#define TIMER_TICKS_PER_SECOND 10000000ull /* UEFI timers count 100 ns */
#define STALL_MICROSECONDS_PER_SECOND 1000000ull
#define SERIAL_TEXT_MAX 96 /* the serial= destination, in words */
/* EFI_GRAPHICS_OUTPUT_PROTOCOL pixel formats with 8 bits per colour: 4 bytes a pixel. */
#define GOP_RGBX_BITS_PER_PIXEL 32
#define BITS_PER_BYTE 8

/* The monitor's entry point: void hv_efi_entry(struct bootinfo *bi), System V ABI, never returns. */
typedef __attribute__((sysv_abi, noreturn)) void (*hv_entry_fn)(struct bootinfo *bi);

static const EFI_GUID acpi20_table_guid = ACPI_20_TABLE_GUID;
static const EFI_GUID acpi10_table_guid = ACPI_TABLE_GUID;

/* Declared here: gnu-efi's crt0 on Debian calls efi_main with the System V ABI (no EFIAPI). */
EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab);

static void find_acpi_rsdp(struct bootinfo *bi)
{
	UINT64 acpi10 = 0;

	for (UINTN i = 0; i < ST->NumberOfTableEntries; i++) {
		EFI_CONFIGURATION_TABLE *t = &ST->ConfigurationTable[i];
		if (CompareGuid(&t->VendorGuid, (EFI_GUID *)&acpi20_table_guid) == 0) {
			bi->acpi_rsdp = (UINT64)(UINTN)t->VendorTable;
			log_line(L"ACPI RSDP at 0x%lx (ACPI 2.0+ table)", bi->acpi_rsdp);
			return;
		}
		if (CompareGuid(&t->VendorGuid, (EFI_GUID *)&acpi10_table_guid) == 0)
			acpi10 = (UINT64)(UINTN)t->VendorTable;
	}
	bi->acpi_rsdp = acpi10;
	if (acpi10 != 0)
		log_line(L"ACPI RSDP at 0x%lx (ACPI 1.0 table)", acpi10);
	else
		log_line(L"no ACPI table in the UEFI configuration table: acpi_rsdp = 0");
}

static UINT32 highest_bit_plus_one(UINT32 mask)
{
	return mask == 0 ? 0 : (UINT32)(32 - __builtin_clz(mask));
}

/* A GOP bit mask (UEFI 2.10, 12.9 EFI_PIXEL_BITMASK) as a Multiboot2 field position and mask size. */
static void mask_to_field(UINT32 mask, UINT8 *position, UINT8 *size)
{
	*position = mask == 0 ? 0 : (UINT8)__builtin_ctz(mask);
	*size = (UINT8)__builtin_popcount(mask);
}

static void find_framebuffer(struct bootinfo *bi)
{
	EFI_GRAPHICS_OUTPUT_PROTOCOL *gop;
	EFI_GRAPHICS_OUTPUT_MODE_INFORMATION *info;
	UINT32 bpp;

	if (EFI_ERROR(BS->LocateProtocol(&GraphicsOutputProtocol, NULL, (VOID **)&gop)) || gop->Mode == NULL ||
	    gop->Mode->Info == NULL) {
		log_line(L"framebuffer: none (no Graphics Output Protocol)");
		return;
	}
	info = gop->Mode->Info;
	/* UEFI 2.10, 12.9: byte 0 of a pixel is red (RGBX) or blue (BGRX); 8 bits per colour. */
	switch (info->PixelFormat) {
	case PixelRedGreenBlueReserved8BitPerColor:
		bpp = GOP_RGBX_BITS_PER_PIXEL;
		bi->fb.red_field_position = 0 * BITS_PER_BYTE;
		bi->fb.green_field_position = 1 * BITS_PER_BYTE;
		bi->fb.blue_field_position = 2 * BITS_PER_BYTE;
		bi->fb.red_mask_size = bi->fb.green_mask_size = bi->fb.blue_mask_size = BITS_PER_BYTE;
		break;
	case PixelBlueGreenRedReserved8BitPerColor:
		bpp = GOP_RGBX_BITS_PER_PIXEL;
		bi->fb.blue_field_position = 0 * BITS_PER_BYTE;
		bi->fb.green_field_position = 1 * BITS_PER_BYTE;
		bi->fb.red_field_position = 2 * BITS_PER_BYTE;
		bi->fb.red_mask_size = bi->fb.green_mask_size = bi->fb.blue_mask_size = BITS_PER_BYTE;
		break;
	case PixelBitMask:
		bpp = highest_bit_plus_one(info->PixelInformation.RedMask | info->PixelInformation.GreenMask |
					   info->PixelInformation.BlueMask | info->PixelInformation.ReservedMask);
		mask_to_field(info->PixelInformation.RedMask, &bi->fb.red_field_position, &bi->fb.red_mask_size);
		mask_to_field(info->PixelInformation.GreenMask, &bi->fb.green_field_position, &bi->fb.green_mask_size);
		mask_to_field(info->PixelInformation.BlueMask, &bi->fb.blue_field_position, &bi->fb.blue_mask_size);
		break;
	default:
		log_line(L"framebuffer: none (the GOP mode is blt-only, without a linear framebuffer)");
		return;
	}
	bi->fb.type = BI_FB_TYPE_RGB;
	bi->fb.addr = gop->Mode->FrameBufferBase;
	bi->fb.width = info->HorizontalResolution;
	bi->fb.height = info->VerticalResolution;
	bi->fb.bpp = bpp;
	bi->fb.pitch = info->PixelsPerScanLine * ((bpp + BITS_PER_BYTE - 1) / BITS_PER_BYTE);
	log_line(L"framebuffer: %dx%d, %d bpp, pitch %d, at 0x%lx", bi->fb.width, bi->fb.height, bi->fb.bpp,
		 bi->fb.pitch, bi->fb.addr);
}

static void copy_ascii(char *dst, UINTN size, const char *src)
{
	UINTN i;
	for (i = 0; i + 1 < size && src[i] != '\0'; i++)
		dst[i] = src[i];
	dst[i] = '\0';
}

static EFI_STATUS copy_guest(struct bootinfo *bi)
{
	UINTN size = (UINTN)(hv_guest_image_end - hv_guest_image_start);
	EFI_PHYSICAL_ADDRESS addr = BELOW_4GIB_MAX_ADDRESS;
	EFI_STATUS status;

	if (size == 0) {
		log_line(L"no guest image embedded: guest_image = 0");
		return EFI_SUCCESS;
	}
	status = pages_allocate(AllocateMaxAddress, EfiLoaderData, BYTES_TO_PAGES(size), &addr);
	if (EFI_ERROR(status)) {
		log_error(L"cannot allocate %ld bytes below 4 GiB for the guest image: %r (the machine has too "
			  L"little free low memory)",
			  (UINT64)size, status);
		return status;
	}
	CopyMem((VOID *)(UINTN)addr, (VOID *)hv_guest_image_start, size);
	bi->guest_image = addr;
	bi->guest_size = size;
	log_line(L"guest image copied to 0x%lx (%ld bytes)", bi->guest_image, bi->guest_size);
	return EFI_SUCCESS;
}

/* Wait until a key is pressed (and take it) or `seconds` have passed. */
static void wait_for_key_or_timeout(UINT32 seconds)
{
	UINTN index;
	EFI_EVENT events[2];
	EFI_EVENT timer;
	EFI_INPUT_KEY key;
	UINTN count = 0;

	if (ST->ConIn != NULL)
		events[count++] = ST->ConIn->WaitForKey;
	if (!EFI_ERROR(BS->CreateEvent(EVT_TIMER, 0, NULL, NULL, &timer))) {
		BS->SetTimer(timer, TimerRelative, seconds * TIMER_TICKS_PER_SECOND);
		events[count++] = timer;
		BS->WaitForEvent(count, events, &index);
		BS->CloseEvent(timer);
	} else {
		BS->Stall(seconds * STALL_MICROSECONDS_PER_SECOND);
	}
	if (ST->ConIn != NULL)
		(void)ST->ConIn->ReadKeyStroke(ST->ConIn, &key); /* the key that ended the wait, if any */
}

/* A failure before ExitBootServices: say so, leave it on screen, give the pages back, return to the firmware. */
static EFI_STATUS fail(EFI_STATUS status)
{
	log_line(L"hv-efi-loader failed: %r; returning to the firmware in %d s (press a key to return now)",
		 status, ERROR_PAUSE_SECONDS);
	pages_release_all();
	wait_for_key_or_timeout(ERROR_PAUSE_SECONDS);
	return status;
}

static void report_option_problem(void *ctx, const char *msg)
{
	(void)ctx;
	log_error(L"%a", msg);
}

/* The legacy name of a serial port's I/O base, or "" for another port. */
static const char *com_name(UINT16 port)
{
	switch (port) {
	case SERIAL_COM1_BASE: return " (COM1)";
	case SERIAL_COM2_BASE: return " (COM2)";
	case SERIAL_COM3_BASE: return " (COM3)";
	case SERIAL_COM4_BASE: return " (COM4)";
	default: return "";
	}
}

/*
 * The monitor's options, parsed as the monitor will parse them (vmm/platform/cmdline.c): their problems
 * on screen now, where the monitor's serial-only report may never be seen, and where its serial
 * output will go.  Returns the number of problems (the monitor stops with status 65 for any).
 */
static UINTN check_options(const struct bootinfo *bi, struct hv_config *config)
{
	char where[SERIAL_TEXT_MAX], value[HV_SERIAL_TEXT_MAX];
	UINTN problems;

	hv_config_defaults(config);
	if (bi->cmdline_length > BOOTINFO_CMDLINE_LEN_MAX)
		return 1; /* cmdline_get said so */
	problems = (UINTN)hv_cmdline_parse(bi->cmdline, config, report_option_problem, NULL);
	if (problems != 0)
		log_line(L"  the monitor will list its options and stop with status %d (bad command line)",
			 HV_ERR_CMDLINE);

	UINT16 port = HV_SERIAL_PORT(config->serial);
	UINT32 baud = HV_SERIAL_BAUD(config->serial);
	hv_serial_describe(value, sizeof(value), config->serial);
	if (port == 0)
		hv_snprintf(where, sizeof(where), "nowhere: no serial output (serial=%s)", value);
	else if (baud == SERIAL_BAUD_KEEP)
		hv_snprintf(where, sizeof(where), "I/O port %#x%s, as the firmware set it up (serial=%s)", port,
			    com_name(port), value);
	else
		hv_snprintf(where, sizeof(where), "I/O port %#x%s at %u baud, 8N1 (serial=%s)", port, com_name(port),
			    baud, value);
	log_line(L"after ExitBootServices the monitor's log goes to the serial port at %a; this loader's last "
		 L"lines go to COM1",
		 where);
	return problems;
}

/* The monitor is going to stop: leave what was said on screen for efi_wait seconds, or until a key. */
static void pause_for_user(UINT32 seconds)
{
	if (seconds == 0) {
		log_line(L"going on to the monitor now (efi_wait=0: no pause)");
		return;
	}
	log_line(L"going on to the monitor in %d s; press a key to go on now (efi_wait=N sets this pause, 0: none)",
		 seconds);
	wait_for_key_or_timeout(seconds);
}

/* A failure after the first ExitBootServices call: boot services may be half gone, COM1 only. */
static EFI_STATUS fail_raw(const char *what, EFI_STATUS status, UINTN attempts)
{
	com1_write("[efi] ERROR: ");
	com1_write(what);
	com1_write(" (EFI status ");
	com1_write_hex(status);
	com1_write(") after ");
	com1_write_dec(attempts);
	com1_write(" ExitBootServices attempt(s); the firmware may be half shut down: power-cycle the machine\n");
	com1_write("[efi] hv-efi-loader failed\n");
	return status;
}

/*
 * Fetch the final memory map into bi and leave the boot services.
 * On success *attempts says how many ExitBootServices calls it took.
 */
static EFI_STATUS exit_boot_services(EFI_HANDLE image, struct bootinfo *bi, UINTN *attempts, UINTN *descriptors)
{
	UINTN map_size = 0, capacity, key, desc_size, needed;
	UINT32 desc_version;
	UINT8 *map;
	EFI_STATUS status;

	status = BS->GetMemoryMap(&map_size, NULL, &key, &desc_size, &desc_version);
	if (status != EFI_BUFFER_TOO_SMALL) {
		log_error(L"GetMemoryMap did not report the map's size: %r", status);
		return fail(EFI_ERROR(status) ? status : EFI_DEVICE_ERROR);
	}
	if (!memmap_desc_size_ok(desc_size)) {
		log_error(L"GetMemoryMap reports descriptors %ld bytes apart: not a whole EFI_MEMORY_DESCRIPTOR "
			  L"(%ld bytes) on an 8-byte boundary",
			  (UINT64)desc_size, (UINT64)sizeof(EFI_MEMORY_DESCRIPTOR));
		return fail(EFI_DEVICE_ERROR);
	}
	capacity = map_size + MEMMAP_SLACK_DESCRIPTORS * desc_size;
	map = AllocatePool(capacity);
	if (map == NULL) {
		log_error(L"cannot allocate %ld bytes for the memory map", (UINT64)capacity);
		return fail(EFI_OUT_OF_RESOURCES);
	}
	log_line(L"firmware memory map: %ld entries of %ld bytes; leaving boot services (only COM1 output from "
		 L"here on)",
		 (UINT64)(map_size / desc_size), (UINT64)desc_size);

	/* No allocation and no console output from here until ExitBootServices succeeds. */
	for (*attempts = 1; *attempts <= EBS_ATTEMPTS_MAX; (*attempts)++) {
		map_size = capacity;
		status = BS->GetMemoryMap(&map_size, (EFI_MEMORY_DESCRIPTOR *)map, &key, &desc_size, &desc_version);
		if (EFI_ERROR(status)) {
			if (*attempts == 1) {
				log_error(L"GetMemoryMap into a %ld-byte buffer failed: %r (raise "
					  L"MEMMAP_SLACK_DESCRIPTORS in boot/efi/main.c if it is Buffer Too Small)",
					  (UINT64)capacity, status);
				FreePool(map);
				return fail(status);
			}
			return fail_raw("GetMemoryMap failed while retrying ExitBootServices", status, *attempts - 1);
		}
		if (!memmap_to_bootinfo(map, map_size, desc_size, bi, &needed)) {
			if (*attempts == 1) {
				log_error(L"the memory map needs %ld ranges; the bootinfo holds %d (raise "
					  L"BOOTINFO_MAX_MEM_RANGES in vmm/include/vmm/bootinfo.h)",
					  (UINT64)needed, BOOTINFO_MAX_MEM_RANGES);
				FreePool(map);
				return fail(EFI_BUFFER_TOO_SMALL);
			}
			return fail_raw("the memory map has more ranges than BOOTINFO_MAX_MEM_RANGES",
					EFI_BUFFER_TOO_SMALL, *attempts - 1);
		}
		*descriptors = map_size / desc_size;
		status = BS->ExitBootServices(image, key);
		if (!EFI_ERROR(status))
			return EFI_SUCCESS;
		if (status != EFI_INVALID_PARAMETER) /* anything but a stale map key */
			return fail_raw("ExitBootServices failed", status, *attempts);
	}
	return fail_raw("ExitBootServices kept reporting a stale memory map key", EFI_INVALID_PARAMETER,
			EBS_ATTEMPTS_MAX);
}

EFI_STATUS efi_main(EFI_HANDLE image, EFI_SYSTEM_TABLE *systab)
{
	UINTN monitor_size = (UINTN)(hv_monitor_image_end - hv_monitor_image_start);
	UINTN guest_size = (UINTN)(hv_guest_image_end - hv_guest_image_start);
	EFI_LOADED_IMAGE *loaded;
	EFI_PHYSICAL_ADDRESS bi_addr = BELOW_4GIB_MAX_ADDRESS;
	struct bootinfo *bi;
	struct monitor_image monitor;
	const CHAR16 *cmdline_source;
	struct hv_config config;
	UINTN attempts = 0, descriptors = 0, problems;
	EFI_STATUS status;

	InitializeLib(image, systab);
	log_init();
	/* The firmware's 5-minute boot watchdog would reset the machine under a running monitor. */
	BS->SetWatchdogTimer(0, 0, 0, NULL);

	log_line(L"%a: loading monitor (%ld bytes) and guest (%ld bytes)", LOADER_NAME, (UINT64)monitor_size,
		 (UINT64)guest_size);
	status = BS->HandleProtocol(image, &LoadedImageProtocol, (VOID **)&loaded);
	if (EFI_ERROR(status)) {
		log_error(L"the firmware gives no EFI_LOADED_IMAGE_PROTOCOL for this application: %r", status);
		return fail(status);
	}
	log_line(L"loader image base 0x%lx (gdb: add-symbol-file build/efi/BOOTX64.so -o 0x%lx)",
		 (UINT64)(UINTN)loaded->ImageBase, (UINT64)(UINTN)loaded->ImageBase);

	status = pages_allocate(AllocateMaxAddress, EfiLoaderData, BYTES_TO_PAGES(sizeof(*bi)), &bi_addr);
	if (EFI_ERROR(status)) {
		log_error(L"cannot allocate %ld bytes below 4 GiB for the boot information: %r",
			  (UINT64)sizeof(*bi), status);
		return fail(status);
	}
	bi = (struct bootinfo *)(UINTN)bi_addr;
	ZeroMem(bi, sizeof(*bi));
	bi->magic = BOOTINFO_MAGIC;
	bi->version = BOOTINFO_VERSION;
	bi->source = BI_SOURCE_UEFI;
	copy_ascii(bi->loader_name, sizeof(bi->loader_name), LOADER_NAME);

	status = cmdline_get(image, loaded, bi->cmdline, &bi->cmdline_length, &cmdline_source);
	if (EFI_ERROR(status))
		return fail(status);
	log_line(L"command line: \"%a\" (%s)", bi->cmdline, cmdline_source);
	status = reserve_from_cmdline(bi->cmdline);
	if (EFI_ERROR(status))
		return fail(status);

	/* While the firmware's console still works: what would stop the monitor, said where it is seen. */
	problems = check_options(bi, &config);
	if (check_vmx())
		problems++;
	check_secure_boot();
	if (problems != 0)
		pause_for_user(config.efi_wait);

	status = monitor_load(hv_monitor_image_start, monitor_size, &monitor);
	if (EFI_ERROR(status))
		return fail(status);
	bi->monitor_start = monitor.start;
	bi->monitor_end = monitor.end;
	log_line(L"monitor loaded at [0x%lx-0x%lx), entry 0x%lx (gdb: add-symbol-file build/hv.elf -o 0x%lx)",
		 monitor.start, monitor.end, monitor.entry, monitor.start);

	status = copy_guest(bi);
	if (EFI_ERROR(status))
		return fail(status);
	find_acpi_rsdp(bi);
	find_cpus(bi); /* boot/efi/cpus.c: EFI_MP_SERVICES_PROTOCOL, never fails the boot */
	find_framebuffer(bi);
	log_line(L"boot information at 0x%lx (%ld bytes)", (UINT64)bi_addr, (UINT64)sizeof(*bi));

	status = exit_boot_services(image, bi, &attempts, &descriptors);
	if (EFI_ERROR(status))
		return status;

	/* Boot services are gone: no ConOut, no allocation; COM1 only. */
	__asm__ volatile("cli");
	com1_write("[efi] final memory map: ");
	com1_write_dec(descriptors);
	com1_write(" UEFI descriptors -> ");
	com1_write_dec(bi->mem_count);
	com1_write(" bootinfo ranges\n");
	com1_write("[efi] ExitBootServices done after ");
	com1_write_dec(attempts);
	com1_write(" attempt(s); jumping to monitor at ");
	com1_write_hex(monitor.entry);
	com1_write("\n");

	((hv_entry_fn)(UINTN)monitor.entry)(bi);
}
