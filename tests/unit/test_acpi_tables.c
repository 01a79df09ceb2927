/*
 * Host unit tests for vmm/loader/acpi_tables.c: the guest's RSDP, XSDT and MADT, read back through the
 * monitor's own parser of the host's tables (vmm/platform/acpi.c, acpi_find_cpus), and byte by byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/acpi.h"
#include "vmm/acpi_tables.h"

#define GPA       0x000e0000ull /* where the guest gets them (vmm/loader/guest_boot.c) */
#define MEM_SIZE  0x4000u
#define UNTOUCHED 0xa5u          /* what the buffer holds before a build */
#define X2APIC_ONLY 300u         /* more vCPUs than ACPI_MAX_CPUS, APIC IDs past 254 */

static uint8_t mem[MEM_SIZE];
static uint64_t mem_gpa; /* the guest-physical address of mem[0] in this test */
static struct acpi_tables_layout lay;
static struct acpi_cpus cpus;
static char why[160];

static const void *map(void *ctx, uint64_t pa, uint64_t len)
{
	(void)ctx;
	if (pa < mem_gpa || len > MEM_SIZE || pa - mem_gpa > MEM_SIZE - len)
		return NULL;
	return mem + (pa - mem_gpa);
}
static const struct acpi_mem M = { map, 0 };

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static uint8_t sum(const uint8_t *p, uint32_t len)
{
	uint8_t s = 0;
	for (uint32_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	return s;
}

static int setup(void **s)
{
	(void)s;
	memset(mem, UNTOUCHED, sizeof(mem));
	memset(&lay, 0, sizeof(lay));
	memset(why, 0, sizeof(why));
	mem_gpa = GPA;
	return 0;
}

static int build(unsigned n) { return acpi_tables_build(mem, sizeof(mem), mem_gpa, n, &lay); }
static int find(void) { return acpi_find_cpus(&M, mem_gpa + lay.rsdp_off, &cpus, why, sizeof(why)); }

/* Build for n vCPUs, read them back through acpi_find_cpus: APIC ID = UID = index, all enabled. */
static void round_trip(unsigned n)
{
	assert_int_equal(build(n), ACPI_TABLES_OK);
	assert_int_equal(find(), 0);
	const unsigned listed = n < ACPI_MAX_CPUS ? n : ACPI_MAX_CPUS;
	assert_int_equal(cpus.count, listed);
	assert_int_equal(cpus.dropped, n - listed);
	assert_int_equal(cpus.online_capable, 0);
	for (unsigned i = 0; i < listed; i++) {
		assert_int_equal(cpus.cpu[i].apic_id, i);
		assert_int_equal(cpus.cpu[i].acpi_uid, i);
		assert_int_equal(cpus.cpu[i].x2apic_entry, i > ACPI_XAPIC_MAX_ID);
	}
	assert_int_equal(cpus.lapic_base, ACPI_LAPIC_DEFAULT_ADDRESS);
	assert_false(cpus.pcat_compat);
	assert_int_equal(cpus.revision, ACPI_RSDP_REVISION);
	assert_true(cpus.used_xsdt);
	assert_int_equal(lay.lapic_entries, n <= ACPI_XAPIC_MAX_ID + 1 ? n : ACPI_XAPIC_MAX_ID + 1);
	assert_int_equal(lay.lapic_entries + lay.x2apic_entries, n);
}

static void test_round_trip_1_2_4_64(void **s)
{
	static const unsigned counts[] = { 1, 2, 4, 64 };
	for (unsigned i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		setup(s);
		round_trip(counts[i]);
		assert_int_equal(lay.x2apic_entries, 0);
	}
}

/* 255 vCPUs fill the xAPIC IDs 0-254; the 256th (APIC ID 255, the xAPIC broadcast ID) is an x2APIC entry. */
static void test_x2apic_entries_beyond_254(void **s)
{
	round_trip(ACPI_XAPIC_MAX_ID + 1);
	assert_int_equal(lay.x2apic_entries, 0);
	setup(s);
	round_trip(ACPI_XAPIC_MAX_ID + 2);
	assert_int_equal(lay.x2apic_entries, 1);
	assert_true(cpus.cpu[ACPI_XAPIC_MAX_ID + 1].x2apic_entry);
	assert_int_equal(cpus.cpu[ACPI_XAPIC_MAX_ID + 1].apic_id, ACPI_XAPIC_MAX_ID + 1);

	/* More than the parser keeps: it lists ACPI_MAX_CPUS and counts the rest; the bytes say the rest. */
	setup(s);
	round_trip(X2APIC_ONLY);
	assert_int_equal(lay.x2apic_entries, X2APIC_ONLY - (ACPI_XAPIC_MAX_ID + 1));
	const uint8_t *e = mem + lay.madt_off + ACPI_MADT_OFF_ENTRIES;
	for (unsigned id = 0; id < X2APIC_ONLY; id++) {
		if (id <= ACPI_XAPIC_MAX_ID) {
			assert_int_equal(e[ACPI_LAPIC_OFF_TYPE], ACPI_MADT_TYPE_LOCAL_APIC);
			assert_int_equal(e[ACPI_LAPIC_OFF_LENGTH], ACPI_LAPIC_LENGTH);
			assert_int_equal(e[ACPI_LAPIC_OFF_UID], id);
			assert_int_equal(e[ACPI_LAPIC_OFF_APIC_ID], id);
			assert_int_equal(rd32(e + ACPI_LAPIC_OFF_FLAGS), ACPI_LAPIC_FLAG_ENABLED);
			e += ACPI_LAPIC_LENGTH;
		} else {
			assert_int_equal(e[ACPI_X2APIC_OFF_TYPE], ACPI_MADT_TYPE_LOCAL_X2APIC);
			assert_int_equal(e[ACPI_X2APIC_OFF_LENGTH], ACPI_X2APIC_LENGTH);
			assert_int_equal(e[ACPI_X2APIC_OFF_RESERVED] | e[ACPI_X2APIC_OFF_RESERVED + 1], 0);
			assert_int_equal(rd32(e + ACPI_X2APIC_OFF_X2APIC_ID), id);
			assert_int_equal(rd32(e + ACPI_X2APIC_OFF_FLAGS), ACPI_LAPIC_FLAG_ENABLED);
			assert_int_equal(rd32(e + ACPI_X2APIC_OFF_UID), id);
			e += ACPI_X2APIC_LENGTH;
		}
	}
	assert_ptr_equal(e, mem + lay.madt_off + lay.madt_len);
}

/* RSDP: both checksums; XSDT and MADT: their whole length sums to 0.  A changed byte is refused. */
static void test_checksums(void **s)
{
	static const unsigned counts[] = { 1, 3, 64, X2APIC_ONLY };
	for (unsigned i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		setup(s);
		assert_int_equal(build(counts[i]), ACPI_TABLES_OK);
		const uint8_t *r = mem + lay.rsdp_off;
		assert_int_equal(sum(r, ACPI_RSDP_CHECKSUM_LEN), 0);
		assert_int_equal(sum(r, ACPI_RSDP_LENGTH), 0);
		assert_int_equal(sum(mem + lay.xsdt_off, lay.xsdt_len), 0);
		assert_int_equal(sum(mem + lay.madt_off, lay.madt_len), 0);
		/* the bytes are not all zero, so the sums say something */
		assert_int_not_equal(r[ACPI_RSDP_OFF_CHECKSUM] | r[ACPI_RSDP_OFF_EXT_CHECKSUM], 0);
	}

	mem[lay.madt_off + ACPI_MADT_OFF_ENTRIES + ACPI_LAPIC_OFF_FLAGS]++;
	assert_int_equal(find(), -1);
	assert_non_null(strstr(why, "checksum"));
	mem[lay.madt_off + ACPI_MADT_OFF_ENTRIES + ACPI_LAPIC_OFF_FLAGS]--;
	mem[lay.rsdp_off + ACPI_RSDP_OFF_XSDT]++; /* past the first 20 bytes: only the extended checksum sees it */
	assert_int_equal(find(), -1);
	assert_non_null(strstr(why, "extended checksum"));
}

/* Every table's Length field is what was written, and they lie one after the other, aligned, within the buffer. */
static void test_lengths_and_placement(void **s)
{
	static const unsigned counts[] = { 1, 2, 4, 64, ACPI_XAPIC_MAX_ID + 2, X2APIC_ONLY };
	for (unsigned i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		const unsigned n = counts[i];
		setup(s);
		assert_int_equal(build(n), ACPI_TABLES_OK);
		const uint8_t *r = mem + lay.rsdp_off, *x = mem + lay.xsdt_off, *m = mem + lay.madt_off;
		assert_int_equal(rd32(r + ACPI_RSDP_OFF_LENGTH), lay.rsdp_len);
		assert_int_equal(lay.rsdp_len, ACPI_RSDP_LENGTH);
		assert_int_equal(rd32(x + ACPI_SDT_OFF_LENGTH), lay.xsdt_len);
		assert_int_equal(lay.xsdt_len, ACPI_XSDT_OFF_ENTRIES + ACPI_XSDT_ENTRY_SIZE); /* one entry */
		assert_int_equal(rd32(m + ACPI_SDT_OFF_LENGTH), lay.madt_len);

		/* The MADT's entries fill it exactly, and there is one per vCPU. */
		uint32_t off = ACPI_MADT_OFF_ENTRIES;
		unsigned entries = 0;
		while (off < lay.madt_len) {
			assert_true(m[off + 1] == ACPI_LAPIC_LENGTH || m[off + 1] == ACPI_X2APIC_LENGTH);
			off += m[off + 1];
			entries++;
		}
		assert_int_equal(off, lay.madt_len);
		assert_int_equal(entries, n);

		/* In order, not overlapping, aligned, and total_len is what acpi_tables_size promised. */
		assert_int_equal((mem_gpa + lay.rsdp_off) % ACPI_RSDP_ALIGN, 0);
		assert_true(lay.rsdp_off + lay.rsdp_len <= lay.xsdt_off);
		assert_true(lay.xsdt_off + lay.xsdt_len <= lay.madt_off);
		assert_int_equal(lay.madt_off + lay.madt_len, lay.total_len);
		assert_int_equal(acpi_tables_size(mem_gpa, n), lay.total_len);
		assert_true(lay.total_len <= sizeof(mem));
		for (size_t b = lay.total_len; b < sizeof(mem); b++)
			assert_int_equal(mem[b], UNTOUCHED);

		/* The pointers are guest-physical. */
		assert_int_equal(rd64(r + ACPI_RSDP_OFF_XSDT), mem_gpa + lay.xsdt_off);
		assert_int_equal(rd32(r + ACPI_RSDP_OFF_RSDT), 0);
		assert_int_equal(rd64(x + ACPI_XSDT_OFF_ENTRIES), mem_gpa + lay.madt_off);
	}
}

/* Signatures, revisions, OEM and creator fields, MADT fixed part. */
static void test_header_fields(void **s)
{
	(void)s;
	assert_int_equal(build(2), ACPI_TABLES_OK);
	const uint8_t *r = mem + lay.rsdp_off;
	assert_memory_equal(r + ACPI_RSDP_OFF_SIGNATURE, "RSD PTR ", 8);
	assert_memory_equal(r + ACPI_RSDP_OFF_OEM_ID, "HVMON ", 6);
	assert_int_equal(r[ACPI_RSDP_OFF_REVISION], 2);
	assert_int_equal(r[ACPI_RSDP_OFF_RESERVED] | r[ACPI_RSDP_OFF_RESERVED + 1] | r[ACPI_RSDP_OFF_RESERVED + 2], 0);
	static const struct { const char *sig; uint8_t rev; } want[] = { { "XSDT", 1 }, { "APIC", 6 } };
	const uint32_t at[] = { lay.xsdt_off, lay.madt_off };
	for (unsigned i = 0; i < 2; i++) {
		const uint8_t *t = mem + at[i];
		assert_memory_equal(t + ACPI_SDT_OFF_SIGNATURE, want[i].sig, 4);
		assert_int_equal(t[ACPI_SDT_OFF_REVISION], want[i].rev);
		assert_memory_equal(t + ACPI_SDT_OFF_OEM_ID, "HVMON ", 6);
		assert_memory_equal(t + ACPI_SDT_OFF_OEM_TABLE_ID, "HVGUEST ", 8);
		assert_int_equal(rd32(t + ACPI_SDT_OFF_OEM_REVISION), ACPI_GUEST_OEM_REVISION);
		assert_memory_equal(t + ACPI_SDT_OFF_CREATOR_ID, ACPI_GUEST_CREATOR_ID, 4);
		assert_int_equal(rd32(t + ACPI_SDT_OFF_CREATOR_REV), ACPI_GUEST_CREATOR_REVISION);
	}
	const uint8_t *m = mem + lay.madt_off;
	assert_int_equal(rd32(m + ACPI_MADT_OFF_LAPIC_ADDRESS), 0xfee00000u);
	assert_int_equal(rd32(m + ACPI_MADT_OFF_FLAGS), 0);
}

/* Too small by one byte: an error, nothing written; exactly big enough: fine.  0 vCPUs: an error. */
static void test_buffer_too_small(void **s)
{
	(void)s;
	static const unsigned counts[] = { 1, 64, X2APIC_ONLY };
	for (unsigned i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
		const unsigned n = counts[i];
		const uint64_t need = acpi_tables_size(GPA, n);
		assert_true(need > 0 && need <= sizeof(mem));
		memset(mem, UNTOUCHED, sizeof(mem));
		memset(&lay, UNTOUCHED, sizeof(lay));
		assert_int_equal(acpi_tables_build(mem, (size_t)need - 1, GPA, n, &lay), ACPI_TABLES_TOO_SMALL);
		for (size_t b = 0; b < sizeof(mem); b++)
			assert_int_equal(mem[b], UNTOUCHED);
		assert_int_equal(lay.total_len, 0xa5a5a5a5u);
		assert_int_equal(acpi_tables_build(mem, (size_t)need, GPA, n, &lay), ACPI_TABLES_OK);
		assert_int_equal(lay.total_len, need);
	}
	assert_int_equal(acpi_tables_build(mem, 0, GPA, 1, &lay), ACPI_TABLES_TOO_SMALL);
	assert_int_equal(acpi_tables_build(mem, sizeof(mem), GPA, 0, &lay), ACPI_TABLES_NO_VCPUS);
	assert_int_equal(acpi_tables_size(GPA, 0), 0);
	/* 2^32 - 1 vCPUs would need a MADT longer than its 32-bit Length field can say. */
	assert_int_equal(acpi_tables_build(mem, sizeof(mem), GPA, UINT32_MAX, &lay), ACPI_TABLES_TOO_MANY);
}

/* A buffer that does not start on a 16-byte boundary: the RSDP moves to the next one, the tables still parse. */
static void test_unaligned_buffer(void **s)
{
	(void)s;
	mem_gpa = GPA + 4;
	round_trip(4);
	assert_int_equal(lay.rsdp_off, 12);
	assert_int_equal((mem_gpa + lay.rsdp_off) % ACPI_RSDP_ALIGN, 0);
	assert_int_equal(acpi_tables_size(mem_gpa, 4), lay.total_len);
	for (uint32_t b = 0; b < lay.rsdp_off; b++)
		assert_int_equal(mem[b], 0); /* the gap is zeroed */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_round_trip_1_2_4_64, setup),
		cmocka_unit_test_setup(test_x2apic_entries_beyond_254, setup),
		cmocka_unit_test_setup(test_checksums, setup),
		cmocka_unit_test_setup(test_lengths_and_placement, setup),
		cmocka_unit_test_setup(test_header_fields, setup),
		cmocka_unit_test_setup(test_buffer_too_small, setup),
		cmocka_unit_test_setup(test_unaligned_buffer, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
