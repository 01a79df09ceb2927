/* Host unit tests for vmm/platform/acpi.c: the CPUs of the MADT, through RSDP, RSDT or XSDT. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/acpi.h"

#define BASE     0x000e0000ull /* where the fake memory starts */
#define MEM_SIZE 0x4000u
#define RSDP_AT  (BASE + 0x0)
#define ROOT_AT  (BASE + 0x100)
#define FACP_AT  (BASE + 0x400)
#define MADT_AT  (BASE + 0x800)

static uint8_t mem[MEM_SIZE];
static struct acpi_cpus cpus;
static char why[160];

static const void *map(void *ctx, uint64_t pa, uint64_t len)
{
	(void)ctx;
	if (pa < BASE || len > MEM_SIZE || pa - BASE > MEM_SIZE - len)
		return NULL;
	return mem + (pa - BASE);
}
static const struct acpi_mem M = { map, 0 };

static uint8_t *at(uint64_t pa) { return mem + (pa - BASE); }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

/* Set the byte at `sum` so that `len` bytes from `p` add up to 0. */
static void fix_checksum(uint8_t *p, uint32_t len, uint8_t *sum)
{
	uint8_t s = 0;
	*sum = 0;
	for (uint32_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	*sum = (uint8_t)-s;
}

static void header(uint64_t pa, const char *sig, uint32_t len)
{
	uint8_t *t = at(pa);
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = 1;
	memcpy(t + 10, "HVTEST", 6);
}
static void seal(uint64_t pa) { uint8_t *t = at(pa); fix_checksum(t, (uint32_t)(t[4] | t[5] << 8 | t[6] << 16), t + 9); }

static void rsdp(unsigned revision, uint64_t rsdt, uint64_t xsdt)
{
	uint8_t *r = at(RSDP_AT);
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "HVTEST", 6);
	r[15] = (uint8_t)revision;
	put32(r + 16, (uint32_t)rsdt);
	fix_checksum(r, 20, r + 8);
	if (revision >= 2) {
		put32(r + 20, 36);
		put64(r + 24, xsdt);
		fix_checksum(r, 36, r + 32);
	}
}

/* A root table (RSDT: 4-byte entries, XSDT: 8) listing `n` tables. */
static void root(const char *sig, const uint64_t *tables, unsigned n)
{
	const unsigned size = sig[0] == 'X' ? 8 : 4;
	header(ROOT_AT, sig, 36 + n * size);
	for (unsigned i = 0; i < n; i++) {
		if (size == 8)
			put64(at(ROOT_AT) + 36 + 8 * i, tables[i]);
		else
			put32(at(ROOT_AT) + 36 + 4 * i, (uint32_t)tables[i]);
	}
	seal(ROOT_AT);
}

/* A MADT from raw entries. */
static void madt(const uint8_t *entries, unsigned len)
{
	header(MADT_AT, "APIC", 44 + len);
	put32(at(MADT_AT) + 36, 0xfee00000u);
	put32(at(MADT_AT) + 40, 1); /* PCAT_COMPAT */
	memcpy(at(MADT_AT) + 44, entries, len);
	seal(MADT_AT);
}

static void facp(void) { header(FACP_AT, "FACP", 116); seal(FACP_AT); }

static int setup(void **s)
{
	(void)s;
	memset(mem, 0, sizeof(mem));
	memset(why, 0, sizeof(why));
	facp();
	return 0;
}

#define LAPIC(uid, id, flags) 0, 8, uid, id, (flags) & 0xff, 0, 0, 0
#define X2APIC(id, flags, uid) 9, 16, 0, 0, (id) & 0xff, ((id) >> 8) & 0xff, ((id) >> 16) & 0xff, (id) >> 24, \
	(flags), 0, 0, 0, (uid), 0, 0, 0

static int find(void) { return acpi_find_cpus(&M, RSDP_AT, &cpus, why, sizeof(why)); }

static void test_rsdt_two_cpus(void **s)
{
	(void)s;
	static const uint8_t e[] = { LAPIC(0, 0, 1), LAPIC(1, 1, 1) };
	madt(e, sizeof(e));
	const uint64_t t[] = { FACP_AT, MADT_AT };
	root("RSDT", t, 2);
	rsdp(0, ROOT_AT, 0);
	assert_int_equal(find(), 0);
	assert_int_equal(cpus.count, 2);
	assert_int_equal(cpus.cpu[0].apic_id, 0);
	assert_int_equal(cpus.cpu[1].apic_id, 1);
	assert_int_equal(cpus.cpu[1].acpi_uid, 1);
	assert_false(cpus.cpu[1].x2apic_entry);
	assert_int_equal(cpus.lapic_base, 0xfee00000u);
	assert_true(cpus.pcat_compat);
	assert_false(cpus.used_xsdt);
	assert_int_equal(cpus.revision, 0);
}

static void test_xsdt_preferred_and_x2apic_entries(void **s)
{
	(void)s;
	static const uint8_t e[] = { LAPIC(0, 0, 1), X2APIC(0x1234, 1, 7), X2APIC(0xffffffffu, 1, 8),
				     5, 12, 0, 0, 0, 0, 0xe0, 0xfe, 0, 0, 0, 0 /* override: 0xfee00000 -> 0xfee00000 */ };
	madt(e, sizeof(e));
	const uint64_t t[] = { FACP_AT, MADT_AT };
	root("XSDT", t, 2);
	/* The RSDT field points to garbage: with an XSDT it must not be used. */
	rsdp(2, BASE + 0x3000, ROOT_AT);
	assert_int_equal(find(), 0);
	assert_true(cpus.used_xsdt);
	assert_int_equal(cpus.count, 2); /* the x2APIC ID 0xffffffff entry is not a processor */
	assert_int_equal(cpus.cpu[1].apic_id, 0x1234);
	assert_int_equal(cpus.cpu[1].acpi_uid, 7);
	assert_true(cpus.cpu[1].x2apic_entry);
	assert_int_equal(cpus.lapic_base, 0xfee00000u);
}

static void test_disabled_and_online_capable(void **s)
{
	(void)s;
	static const uint8_t e[] = { LAPIC(0, 0, 1), LAPIC(1, 1, 0), LAPIC(2, 2, 2), LAPIC(3, 3, 1) };
	madt(e, sizeof(e));
	const uint64_t t[] = { MADT_AT };
	root("RSDT", t, 1);
	rsdp(0, ROOT_AT, 0);
	assert_int_equal(find(), 0);
	assert_int_equal(cpus.count, 2);
	assert_int_equal(cpus.cpu[1].apic_id, 3);
	assert_int_equal(cpus.online_capable, 1);
}

static void test_broken_tables_give_a_reason(void **s)
{
	(void)s;
	static const uint8_t e[] = { LAPIC(0, 0, 1) };
	const uint64_t t[] = { MADT_AT };

	assert_int_equal(acpi_find_cpus(&M, 0, &cpus, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "no ACPI RSDP"));

	assert_int_equal(find(), -1); /* nothing there */
	assert_non_null(strstr(why, "no RSDP signature"));

	madt(e, sizeof(e));
	root("RSDT", t, 1);
	rsdp(0, ROOT_AT, 0);
	at(RSDP_AT)[8] ^= 1;
	assert_int_equal(find(), -1);
	assert_non_null(strstr(why, "RSDP checksum"));

	rsdp(0, ROOT_AT, 0);
	at(MADT_AT)[44 + 3] ^= 1; /* the APIC ID changes, the checksum does not */
	assert_int_equal(find(), -1);
	assert_non_null(strstr(why, "wrong checksum"));

	madt(e, sizeof(e));
	rsdp(0, BASE + MEM_SIZE - 8, 0); /* the RSDT would run past readable memory */
	assert_int_equal(find(), -1);

	rsdp(2, ROOT_AT, ROOT_AT);
	at(RSDP_AT)[33] ^= 0x55; /* reserved byte: the extended checksum fails */
	assert_int_equal(find(), -1);
	assert_non_null(strstr(why, "extended checksum"));
}

static void test_no_madt_and_empty_madt(void **s)
{
	(void)s;
	const uint64_t t[] = { FACP_AT };
	root("RSDT", t, 1);
	rsdp(0, ROOT_AT, 0);
	assert_int_equal(find(), -1);
	assert_non_null(strstr(why, "no MADT"));

	static const uint8_t e[] = { LAPIC(0, 0, 0) };
	madt(e, sizeof(e));
	const uint64_t t2[] = { FACP_AT, MADT_AT };
	root("RSDT", t2, 2);
	assert_int_equal(find(), -1);
	assert_non_null(strstr(why, "no enabled processor"));
}

static void test_bad_entry_lengths_stop_the_walk(void **s)
{
	(void)s;
	const uint64_t t[] = { MADT_AT };
	root("RSDT", t, 1);
	rsdp(0, ROOT_AT, 0);
	static const uint8_t zero_len[] = { LAPIC(0, 0, 1), 0, 0, 0, 0 };
	madt(zero_len, sizeof(zero_len));
	assert_int_equal(find(), -1); /* a 0-length entry would loop forever */
	assert_non_null(strstr(why, "bad length"));
	static const uint8_t past_end[] = { LAPIC(0, 0, 1), 0, 40, 1, 1 };
	madt(past_end, sizeof(past_end));
	assert_int_equal(find(), -1);
	static const uint8_t half_header[] = { LAPIC(0, 0, 1), 0 };
	madt(half_header, sizeof(half_header));
	assert_int_equal(find(), -1);
	/* A short processor entry is skipped, not read past its length. */
	static const uint8_t short_lapic[] = { LAPIC(0, 0, 1), 0, 4, 9, 9 };
	madt(short_lapic, sizeof(short_lapic));
	assert_int_equal(find(), 0);
	assert_int_equal(cpus.count, 1);
}

static void test_more_cpus_than_the_table_holds(void **s)
{
	(void)s;
	static uint8_t e[(ACPI_MAX_CPUS + 3) * 16];
	for (unsigned i = 0; i < ACPI_MAX_CPUS + 3; i++) {
		const uint8_t x[] = { X2APIC(i, 1, i) };
		memcpy(e + 16 * i, x, 16);
	}
	header(MADT_AT, "APIC", 44 + sizeof(e));
	memcpy(at(MADT_AT) + 44, e, sizeof(e));
	seal(MADT_AT);
	const uint64_t t[] = { MADT_AT };
	root("RSDT", t, 1);
	rsdp(0, ROOT_AT, 0);
	assert_int_equal(find(), 0);
	assert_int_equal(cpus.count, ACPI_MAX_CPUS);
	assert_int_equal(cpus.dropped, 3);
	assert_int_equal(cpus.cpu[ACPI_MAX_CPUS - 1].apic_id, ACPI_MAX_CPUS - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_rsdt_two_cpus, setup),
		cmocka_unit_test_setup(test_xsdt_preferred_and_x2apic_entries, setup),
		cmocka_unit_test_setup(test_disabled_and_online_capable, setup),
		cmocka_unit_test_setup(test_broken_tables_give_a_reason, setup),
		cmocka_unit_test_setup(test_no_madt_and_empty_madt, setup),
		cmocka_unit_test_setup(test_bad_entry_lengths_stop_the_walk, setup),
		cmocka_unit_test_setup(test_more_cpus_than_the_table_holds, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
