/*
 * The processors the firmware started and lists, from EFI_MP_SERVICES_PROTOCOL (UEFI PI spec,
 * Vol. 2, 13.4; boot/efi/mp_services.h), for the monitor on machines whose firmware gives no
 * ACPI MADT.  Asked once, before ExitBootServices (the protocol is a boot service).
 *
 * Listed: every processor GetProcessorInfo reports enabled and healthy, the bootstrap processor
 * included, in the firmware's processor-number order, up to BOOTINFO_MAX_CPUS.  Nothing here
 * fails the boot: without an answer the cpu_* fields stay 0.
 */
#include <vmm/format.h>

#include "cpus.h"
#include "loader.h"
#include "mp_services.h"

#define LISTED_FLAGS (PROCESSOR_ENABLED_BIT | PROCESSOR_HEALTH_STATUS_BIT)
/* A local APIC ID is 32 bits (x2APIC); a wider ProcessorId is not one. */
#define APIC_ID_MAX 0xffffffffull
/*
 * The APIC IDs on the log line, in characters: what is left of log.c's 512-character line after
 * the rest of the line.  Longer lists end in "... (N more)"; the bootinfo holds them all.
 */
#define ID_TEXT_MAX 320
/* " ... (4294967295 more)" and its NUL. */
#define ID_TEXT_MORE_MAX 24

static EFI_GUID mp_services_guid = EFI_MP_SERVICES_PROTOCOL_GUID;

/* What the processors' StatusFlags said, for the log. */
struct cpu_census {
	UINTN enabled;       /* PROCESSOR_ENABLED_BIT set */
	UINTN disabled;      /* PROCESSOR_ENABLED_BIT clear */
	UINTN unhealthy;     /* enabled, PROCESSOR_HEALTH_STATUS_BIT clear */
	UINTN bad_id;        /* ProcessorId wider than an APIC ID */
	UINTN over_limit;    /* enabled and healthy, beyond BOOTINFO_MAX_CPUS */
	UINTN info_failed;   /* GetProcessorInfo returned an error */
	EFI_STATUS info_status; /* its first error */
	UINTN bsp_count;     /* processors flagged PROCESSOR_AS_BSP_BIT */
	UINT64 bsp_id;
	UINT32 bsp_flags;
};

/* "0 1 2 3", the listed APIC IDs in decimal, cut short to fit ID_TEXT_MAX. */
static void apic_id_text(const struct bootinfo *bi, char *text, UINTN size)
{
	UINTN len = 0, i;
	int n;

	text[0] = '\0';
	for (i = 0; i < bi->cpu_count; i++) {
		n = hv_snprintf(text + len, size - ID_TEXT_MORE_MAX - len, i == 0 ? "%u" : " %u",
				(unsigned)bi->cpu_apic_id[i]);
		if (n < 0 || len + (UINTN)n >= size - ID_TEXT_MORE_MAX) {
			text[len] = '\0';
			hv_snprintf(text + len, size - len, " ... (%u more)", (unsigned)(bi->cpu_count - i));
			return;
		}
		len += (UINTN)n;
	}
}

static void census_add(struct bootinfo *bi, struct cpu_census *c, const EFI_PROCESSOR_INFORMATION *info)
{
	if (info->StatusFlag & PROCESSOR_AS_BSP_BIT) {
		if (c->bsp_count++ == 0) {
			c->bsp_id = info->ProcessorId;
			c->bsp_flags = info->StatusFlag;
		}
	}
	if (!(info->StatusFlag & PROCESSOR_ENABLED_BIT)) {
		c->disabled++;
		return;
	}
	c->enabled++;
	if (!(info->StatusFlag & PROCESSOR_HEALTH_STATUS_BIT))
		c->unhealthy++;
	else if (info->ProcessorId > APIC_ID_MAX)
		c->bad_id++;
	else if (bi->cpu_count >= BOOTINFO_MAX_CPUS)
		c->over_limit++;
	else
		bi->cpu_apic_id[bi->cpu_count++] = (UINT32)info->ProcessorId;
}

/* The answer cannot be used: say why and leave every cpu_* field 0. */
static void give_up(struct bootinfo *bi)
{
	bi->cpu_count = 0;
	bi->cpu_bsp_apic_id = 0;
	bi->cpu_total = 0;
	ZeroMem(bi->cpu_apic_id, sizeof(bi->cpu_apic_id));
}

void find_cpus(struct bootinfo *bi)
{
	EFI_MP_SERVICES_PROTOCOL *mp = NULL;
	EFI_PROCESSOR_INFORMATION info;
	struct cpu_census c;
	char ids[ID_TEXT_MAX];
	UINTN total = 0, enabled = 0;
	EFI_STATUS status;

	status = BS->LocateProtocol(&mp_services_guid, NULL, (VOID **)&mp);
	if (EFI_ERROR(status) || mp == NULL) {
		log_line(L"no EFI_MP_SERVICES_PROTOCOL (%r): the monitor relies on ACPI",
			 EFI_ERROR(status) ? status : EFI_NOT_FOUND);
		return;
	}
	status = mp->GetNumberOfProcessors(mp, &total, &enabled);
	if (EFI_ERROR(status)) {
		log_line(L"EFI_MP_SERVICES_PROTOCOL.GetNumberOfProcessors failed (%r): the monitor relies on ACPI",
			 status);
		return;
	}
	if (total == 0 || total > APIC_ID_MAX) {
		log_line(L"EFI_MP_SERVICES_PROTOCOL.GetNumberOfProcessors says %ld processors: the monitor "
			 L"relies on ACPI",
			 (UINT64)total);
		return;
	}

	ZeroMem(&c, sizeof(c));
	for (UINTN i = 0; i < total; i++) {
		ZeroMem(&info, sizeof(info));
		/* The plain number (no CPU_V2_EXTENDED_TOPOLOGY): only the base structure is written. */
		status = mp->GetProcessorInfo(mp, i, &info);
		if (EFI_ERROR(status)) {
			if (c.info_failed++ == 0)
				c.info_status = status;
			continue;
		}
		census_add(bi, &c, &info);
	}
	if (c.bsp_count != 1) {
		log_line(L"EFI_MP_SERVICES_PROTOCOL flags %ld of %ld processors as the bootstrap processor (%ld "
			 L"unanswered): the monitor relies on ACPI",
			 (UINT64)c.bsp_count, (UINT64)total, (UINT64)c.info_failed);
		give_up(bi);
		return;
	}
	if (bi->cpu_count == 0) {
		log_line(L"EFI_MP_SERVICES_PROTOCOL lists none of its %ld processors as enabled and healthy (%ld "
			 L"disabled, %ld failed their self test, %ld unanswered): the monitor relies on ACPI",
			 (UINT64)total, (UINT64)c.disabled, (UINT64)c.unhealthy, (UINT64)c.info_failed);
		give_up(bi);
		return;
	}
	bi->cpu_bsp_apic_id = (UINT32)c.bsp_id;
	bi->cpu_total = (UINT32)total;

	apic_id_text(bi, ids, sizeof(ids));
	log_line(L"CPUs: %d of %ld listed by EFI_MP_SERVICES_PROTOCOL (BSP APIC ID %ld), APIC IDs %a", bi->cpu_count,
		 (UINT64)total, c.bsp_id, ids);
	/* Only when something was left out or looks odd: why. */
	if (c.disabled + c.unhealthy + c.bad_id + c.over_limit + c.info_failed != 0)
		log_line(L"  not listed: %ld disabled, %ld failed their self test, %ld with a ProcessorId wider "
			 L"than 32 bits, %ld beyond BOOTINFO_MAX_CPUS (%d), %ld unanswered (GetProcessorInfo: %r)",
			 (UINT64)c.disabled, (UINT64)c.unhealthy, (UINT64)c.bad_id, (UINT64)c.over_limit,
			 BOOTINFO_MAX_CPUS, (UINT64)c.info_failed, c.info_failed != 0 ? c.info_status : EFI_SUCCESS);
	if ((c.bsp_flags & LISTED_FLAGS) != LISTED_FLAGS || c.bsp_id > APIC_ID_MAX)
		log_line(L"  the bootstrap processor itself is not listed (StatusFlag 0x%x, ProcessorId 0x%lx)",
			 c.bsp_flags, c.bsp_id);
	if (c.info_failed == 0 && c.enabled != enabled)
		log_line(L"  GetNumberOfProcessors counts %ld enabled processors, GetProcessorInfo's flags %ld",
			 (UINT64)enabled, (UINT64)c.enabled);
}
