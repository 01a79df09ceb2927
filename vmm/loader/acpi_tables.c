/* The guest's ACPI tables (RSDP, XSDT, MADT): see vmm/include/vmm/acpi_tables.h. */
#include <string.h>
#include "vmm/acpi_tables.h"

#define SDT_ALIGN 8u /* our choice: every table after the RSDP starts 8-byte aligned */

static uint64_t align_up(uint64_t x, uint64_t a) { return (x + a - 1) & ~(a - 1); }

/* Offset of the first `a`-aligned guest-physical address at or after gpa (a is a power of two). */
static uint32_t align_gap(uint64_t gpa, uint32_t a) { return (uint32_t)(-gpa & (a - 1)); }

/* The value that makes `len` bytes from `p` sum to 0 when stored in a byte of them that is now 0. */
static uint8_t checksum(const uint8_t *p, uint32_t len)
{
	uint8_t sum = 0;
	for (uint32_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return (uint8_t)-sum;
}

static unsigned xapic_count(unsigned nr_vcpus)
{
	return nr_vcpus <= ACPI_XAPIC_MAX_ID + 1 ? nr_vcpus : ACPI_XAPIC_MAX_ID + 1;
}

static uint64_t madt_length(unsigned nr_vcpus)
{
	const unsigned nx = xapic_count(nr_vcpus);
	return ACPI_MADT_OFF_ENTRIES + (uint64_t)nx * ACPI_LAPIC_LENGTH +
	       (uint64_t)(nr_vcpus - nx) * ACPI_X2APIC_LENGTH;
}

/* Offsets of the three tables and the end of the last, for a buffer at gpa. */
static void place(uint64_t gpa, unsigned nr_vcpus, uint64_t *rsdp, uint64_t *xsdt, uint64_t *madt, uint64_t *end)
{
	*rsdp = align_gap(gpa, ACPI_RSDP_ALIGN);
	*xsdt = *rsdp + align_up(ACPI_RSDP_LENGTH, SDT_ALIGN);
	*madt = *xsdt + align_up(ACPI_XSDT_OFF_ENTRIES + ACPI_XSDT_ENTRY_SIZE, SDT_ALIGN);
	*end = *madt + madt_length(nr_vcpus);
}

uint64_t acpi_tables_size(uint64_t gpa, unsigned nr_vcpus)
{
	uint64_t rsdp, xsdt, madt, end;
	if (nr_vcpus == 0)
		return 0;
	place(gpa, nr_vcpus, &rsdp, &xsdt, &madt, &end);
	return end;
}

static struct acpi_sdt_header sdt_header(const char *signature, uint32_t length, uint8_t revision)
{
	struct acpi_sdt_header h = {
		.length = length,
		.revision = revision,
		.oem_revision = ACPI_GUEST_OEM_REVISION,
		.creator_revision = ACPI_GUEST_CREATOR_REVISION,
	};
	memcpy(h.signature, signature, ACPI_SIG_LEN);
	memcpy(h.oem_id, ACPI_GUEST_OEM_ID, ACPI_OEM_ID_LEN);
	memcpy(h.oem_table_id, ACPI_GUEST_OEM_TABLE_ID, ACPI_OEM_TABLE_ID_LEN);
	memcpy(h.creator_id, ACPI_GUEST_CREATOR_ID, ACPI_SIG_LEN);
	return h;
}

/* 5.2.6: the checksum byte makes the whole table, Length bytes, sum to 0. */
static void sdt_seal(uint8_t *at, uint32_t length) { at[ACPI_SDT_OFF_CHECKSUM] = checksum(at, length); }

int acpi_tables_build(void *buf, size_t buf_size, uint64_t gpa, unsigned nr_vcpus, struct acpi_tables_layout *out)
{
	uint64_t rsdp_off, xsdt_off, madt_off, end;
	if (nr_vcpus == 0)
		return ACPI_TABLES_NO_VCPUS;
	place(gpa, nr_vcpus, &rsdp_off, &xsdt_off, &madt_off, &end);
	if (end > UINT32_MAX)
		return ACPI_TABLES_TOO_MANY;
	if (end > buf_size)
		return ACPI_TABLES_TOO_SMALL;

	uint8_t *const b = buf;
	const uint32_t xsdt_len = ACPI_XSDT_OFF_ENTRIES + ACPI_XSDT_ENTRY_SIZE;
	const uint32_t madt_len = (uint32_t)madt_length(nr_vcpus);
	memset(b, 0, (size_t)end);

	/* MADT (5.2.12): the fixed part, then one structure per vCPU, the APIC ID and the UID its index. */
	uint8_t *const madt = b + madt_off;
	const struct acpi_madt_fixed m = {
		.header = sdt_header(ACPI_MADT_SIGNATURE, madt_len, ACPI_MADT_REVISION),
		.lapic_address = ACPI_LAPIC_DEFAULT_ADDRESS,
		.flags = 0, /* no ACPI_MADT_PCAT_COMPAT: no 8259 pair is emulated */
	};
	memcpy(madt, &m, sizeof(m));
	uint32_t off = ACPI_MADT_OFF_ENTRIES;
	unsigned lapics = 0, x2apics = 0;
	for (unsigned id = 0; id < nr_vcpus; id++) {
		if (id <= ACPI_XAPIC_MAX_ID) {
			const struct acpi_madt_local_apic e = {
				.type = ACPI_MADT_TYPE_LOCAL_APIC,
				.length = ACPI_LAPIC_LENGTH,
				.acpi_uid = (uint8_t)id,
				.apic_id = (uint8_t)id,
				.flags = ACPI_LAPIC_FLAG_ENABLED,
			};
			memcpy(madt + off, &e, sizeof(e));
			off += sizeof(e);
			lapics++;
		} else {
			const struct acpi_madt_local_x2apic e = {
				.type = ACPI_MADT_TYPE_LOCAL_X2APIC,
				.length = ACPI_X2APIC_LENGTH,
				.x2apic_id = id,
				.flags = ACPI_LAPIC_FLAG_ENABLED,
				.acpi_uid = id,
			};
			memcpy(madt + off, &e, sizeof(e));
			off += sizeof(e);
			x2apics++;
		}
	}
	sdt_seal(madt, madt_len);

	/* XSDT (5.2.8): one entry, the MADT's guest-physical address. */
	uint8_t *const xsdt = b + xsdt_off;
	const uint64_t madt_gpa = gpa + madt_off;
	const struct acpi_sdt_header x = sdt_header(ACPI_XSDT_SIGNATURE, xsdt_len, ACPI_XSDT_REVISION);
	memcpy(xsdt, &x, sizeof(x));
	memcpy(xsdt + ACPI_XSDT_OFF_ENTRIES, &madt_gpa, sizeof(madt_gpa));
	sdt_seal(xsdt, xsdt_len);

	/*
	 * RSDP (5.2.5.3), revision 2: no RSDT (RsdtAddress 0), the XSDT instead.  The Checksum covers the
	 * first 20 bytes, the Extended Checksum all 36 (the Checksum included, so it goes first).
	 */
	uint8_t *const rsdp = b + rsdp_off;
	struct acpi_rsdp r = {
		.revision = ACPI_RSDP_REVISION,
		.rsdt_address = 0,
		.length = ACPI_RSDP_LENGTH,
		.xsdt_address = gpa + xsdt_off,
	};
	memcpy(r.signature, ACPI_RSDP_SIGNATURE, ACPI_RSDP_SIGNATURE_LEN);
	memcpy(r.oem_id, ACPI_GUEST_OEM_ID, ACPI_OEM_ID_LEN);
	memcpy(rsdp, &r, sizeof(r));
	rsdp[ACPI_RSDP_OFF_CHECKSUM] = checksum(rsdp, ACPI_RSDP_CHECKSUM_LEN);
	rsdp[ACPI_RSDP_OFF_EXT_CHECKSUM] = checksum(rsdp, ACPI_RSDP_LENGTH);

	*out = (struct acpi_tables_layout){
		.rsdp_off = (uint32_t)rsdp_off, .rsdp_len = ACPI_RSDP_LENGTH,
		.xsdt_off = (uint32_t)xsdt_off, .xsdt_len = xsdt_len,
		.madt_off = (uint32_t)madt_off, .madt_len = madt_len,
		.total_len = (uint32_t)end,
		.lapic_entries = lapics, .x2apic_entries = x2apics,
	};
	return ACPI_TABLES_OK;
}
