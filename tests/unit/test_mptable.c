/*
 * Host unit tests for vmm/platform/mptable.c: the CPUs of the MP spec 1.4 tables, found in the EBDA,
 * at the end of base memory or in the BIOS ROM; broken tables give a reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "vmm/mptable.h"

#define MEM_SIZE  0x100000u  /* the fake memory: the first MiB, at physical 0 */
#define EBDA      0x9f000ull /* an EBDA of 4 KiB below 636 KiB of base memory */
#define BASE_END  0x80000ull /* 512 KiB of base memory: search 511-512 KiB */
#define ROM_FP    0xf5a40ull
#define TABLE_AT  0x9000ull  /* where the tests put a configuration table */
#define TABLE2_AT 0xa000ull

static uint8_t mem[MEM_SIZE];
static struct acpi_cpus cpus;
static char why[200];

static const void *map(void *ctx, uint64_t pa, uint64_t len)
{
	(void)ctx;
	if (len > MEM_SIZE || pa > MEM_SIZE - len)
		return NULL;
	return mem + pa;
}
static const struct acpi_mem M = { map, 0 };

static uint8_t *at(uint64_t pa) { return mem + pa; }
static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/* Set the byte at `sum` so that `len` bytes from `p` add up to 0. */
static void fix_checksum(uint8_t *p, uint32_t len, uint8_t *sum)
{
	uint8_t s = 0;
	*sum = 0;
	for (uint32_t i = 0; i < len; i++)
		s = (uint8_t)(s + p[i]);
	*sum = (uint8_t)-s;
}

/* A floating pointer (MP spec 1.4 4.1) at pa. */
static void fp(uint64_t pa, uint64_t table, uint8_t spec_rev, uint8_t feature1, uint8_t feature2)
{
	uint8_t *p = at(pa);
	memset(p, 0, 16);
	memcpy(p, "_MP_", 4);
	put32(p + 4, (uint32_t)table);
	p[8] = 1;
	p[9] = spec_rev;
	p[11] = feature1;
	p[12] = feature2;
	fix_checksum(p, 16, p + 10);
}

/* A configuration table (4.2) at pa from raw entries; `count` may disagree with the entries. */
static void table_n(uint64_t pa, const uint8_t *entries, unsigned len, unsigned count)
{
	uint8_t *t = at(pa);
	memset(t, 0, 44);
	memcpy(t, "PCMP", 4);
	put16(t + 4, (uint16_t)(44 + len));
	t[6] = 4;
	memcpy(t + 8, "HVTEST  ", 8);
	memcpy(t + 16, "MPTABLE TEST", 12);
	put16(t + 34, (uint16_t)count);
	put32(t + 36, 0xfee00000u);
	memcpy(t + 44, entries, len);
	fix_checksum(t, 44 + len, t + 7);
}

#define CPU(id, flags) 0, id, 0x14, flags, 0x71, 0x06, 0, 0, 0xff, 0xfb, 0xeb, 0xbf, 0, 0, 0, 0, 0, 0, 0, 0
#define BUS(id, name) 1, id, name[0], name[1], name[2], name[3], name[4], name[5]
#define IOAPIC(id) 2, id, 0x11, 1, 0x00, 0x00, 0xc0, 0xfe
#define IOINT(irq, pin) 3, 0, 0, 0, 0, irq, 0, pin
#define LINT(pin) 4, 3, 0, 0, 0, 0, 0xff, pin
#define EN 1
#define BP 2

/* A usual table: the processors, a bus, an I/O APIC and its interrupts. */
#define TABLE(...) do { \
		static const uint8_t e_[] = { __VA_ARGS__, BUS(0, "ISA   "), IOAPIC(2), IOINT(1, 1), LINT(0) }; \
		table_n(TABLE_AT, e_, sizeof(e_), count_of(e_, sizeof(e_))); \
	} while (0)

/* Entries in raw bytes -> their count (a test-side walk; every type is known here). */
static unsigned count_of(const uint8_t *e, unsigned len)
{
	unsigned n = 0;
	for (unsigned off = 0; off < len; n++)
		off += e[off] == 0 ? 20 : 8;
	return n;
}

static int setup(void **s)
{
	(void)s;
	memset(mem, 0, sizeof(mem));
	memset(why, 0, sizeof(why));
	memset(&cpus, 0xa5, sizeof(cpus));
	return 0;
}

static int find(uint64_t ebda, uint64_t base_end) { return mptable_find_cpus(&M, ebda, base_end, &cpus, why, sizeof(why)); }

static void test_ebda_two_cpus(void **s)
{
	(void)s;
	TABLE(CPU(0, EN | BP), CPU(1, EN));
	fp(EBDA + 0x3f0, TABLE_AT, 4, 0, 0); /* the last paragraph of the EBDA's first KiB */
	assert_int_equal(find(EBDA, EBDA), 0);
	assert_string_equal(why, "");
	assert_int_equal(cpus.count, 2);
	assert_int_equal(cpus.cpu[0].apic_id, 0);
	assert_int_equal(cpus.cpu[1].apic_id, 1);
	assert_int_equal(cpus.cpu[1].acpi_uid, 1);
	assert_false(cpus.cpu[1].x2apic_entry);
	assert_int_equal(cpus.lapic_base, 0xfee00000u);
	assert_false(cpus.pcat_compat); /* no IMCR: virtual wire mode */
	assert_int_equal(cpus.revision, 4);
	assert_false(cpus.used_xsdt);
	assert_int_equal(cpus.dropped, 0);
	assert_int_equal(cpus.online_capable, 0);

	/* Past the first KiB of the EBDA it is not searched (nor is 639 KiB: the base memory end is given). */
	memset(at(EBDA + 0x3f0), 0, 16);
	fp(EBDA + 0x400, TABLE_AT, 4, 0, 0);
	assert_int_equal(find(EBDA, EBDA), -1);
	assert_non_null(strstr(why, "no MP floating pointer"));
}

static void test_base_memory_end_four_cpus(void **s)
{
	(void)s;
	TABLE(CPU(0, EN | BP), CPU(2, EN), CPU(4, EN), CPU(6, EN));
	fp(BASE_END - 1024, TABLE_AT, 4, 0, 0);
	assert_int_equal(find(0, BASE_END), 0);
	assert_int_equal(cpus.count, 4);
	assert_int_equal(cpus.cpu[3].apic_id, 6);
	assert_int_equal(cpus.cpu[3].acpi_uid, 3);

	/* Base memory's size unknown: its last KiB is taken to be 639-640 KiB. */
	memset(at(BASE_END - 1024), 0, 16);
	fp(639 * 1024 + 0x200, TABLE_AT, 4, 0, 0);
	assert_int_equal(find(0, 0), 0);
	assert_int_equal(cpus.count, 4);
	assert_int_equal(find(0, BASE_END), -1); /* the size given: 639 KiB is not searched */
}

static void test_bios_rom(void **s)
{
	(void)s;
	TABLE(CPU(0, EN | BP), CPU(1, EN), CPU(2, EN), CPU(3, EN));
	fp(ROM_FP, TABLE_AT, 1, 0, 0x80); /* MP spec 1.1, with an IMCR */
	assert_int_equal(find(EBDA, BASE_END), 0);
	assert_int_equal(cpus.count, 4);
	assert_int_equal(cpus.revision, 1);
	assert_true(cpus.pcat_compat);

	/* The last paragraph of the ROM counts; a two-CPU table this time. */
	memset(at(ROM_FP), 0, 16);
	TABLE(CPU(0, EN | BP), CPU(1, EN));
	fp(0xffff0, TABLE_AT, 4, 0, 0);
	assert_int_equal(find(0, 0), 0);
	assert_int_equal(cpus.count, 2);
	assert_false(cpus.pcat_compat);
}

/* Every search area, with two and with four CPUs. */
static void test_each_area_two_and_four_cpus(void **s)
{
	(void)s;
	static const uint8_t two[] = { CPU(0, EN | BP), CPU(1, EN), BUS(0, "ISA   ") };
	static const uint8_t four[] = { CPU(0, EN | BP), CPU(1, EN), CPU(2, EN), CPU(3, EN), BUS(0, "PCI   "),
					BUS(1, "ISA   "), IOAPIC(4), IOINT(0, 2), LINT(1) };
	const uint64_t where[] = { EBDA + 0x100, BASE_END - 1024, BASE_END - 16, 0xf0000, ROM_FP };
	for (unsigned w = 0; w < sizeof(where) / sizeof(where[0]); w++) {
		for (unsigned n = 2; n <= 4; n += 2) {
			setup(0);
			if (n == 2)
				table_n(TABLE_AT, two, sizeof(two), 3);
			else
				table_n(TABLE_AT, four, sizeof(four), 9);
			fp(where[w], TABLE_AT, 4, 0, 0);
			assert_int_equal(find(EBDA, BASE_END), 0);
			assert_int_equal(cpus.count, n);
			assert_string_equal(why, "");
			for (unsigned i = 0; i < n; i++) {
				assert_int_equal(cpus.cpu[i].apic_id, i);
				assert_int_equal(cpus.cpu[i].acpi_uid, i);
			}
		}
	}
}

static void test_search_order(void **s)
{
	(void)s;
	static const uint8_t two[] = { CPU(0, EN | BP), CPU(1, EN) };
	static const uint8_t four[] = { CPU(0, EN | BP), CPU(1, EN), CPU(2, EN), CPU(3, EN) };
	static const uint8_t three[] = { CPU(0, EN | BP), CPU(1, EN), CPU(2, EN) };
	table_n(TABLE_AT, two, sizeof(two), 2);
	table_n(TABLE2_AT, four, sizeof(four), 4);
	table_n(0xb000, three, sizeof(three), 3);
	fp(EBDA, TABLE_AT, 4, 0, 0);
	fp(BASE_END - 16, 0xb000, 4, 0, 0);
	fp(ROM_FP, TABLE2_AT, 4, 0, 0);
	assert_int_equal(find(EBDA, BASE_END), 0);
	assert_int_equal(cpus.count, 2); /* the EBDA first */
	assert_int_equal(find(0, BASE_END), 0);
	assert_int_equal(cpus.count, 3); /* then the end of base memory */
	assert_int_equal(find(0, 0x40000), 0);
	assert_int_equal(cpus.count, 4); /* then the ROM */
}

static void test_disabled_cpu_left_out(void **s)
{
	(void)s;
	TABLE(CPU(0, EN | BP), CPU(1, 0), CPU(2, EN), CPU(3, BP) /* a disabled BP flag is no processor either */);
	fp(EBDA, TABLE_AT, 4, 0, 0);
	assert_int_equal(find(EBDA, 0), 0);
	assert_int_equal(cpus.count, 2);
	assert_int_equal(cpus.cpu[0].apic_id, 0);
	assert_int_equal(cpus.cpu[1].apic_id, 2);
	assert_int_equal(cpus.cpu[1].acpi_uid, 2); /* the index among the processor entries, disabled ones counted */

	TABLE(CPU(0, 0), CPU(1, BP));
	assert_int_equal(find(EBDA, 0), -1);
	assert_non_null(strstr(why, "no enabled processor"));
	assert_int_equal(cpus.count, 0);
}

static void test_bootstrap_processor_first(void **s)
{
	(void)s;
	TABLE(CPU(4, EN), CPU(5, EN), CPU(6, EN | BP), CPU(7, EN), CPU(8, EN | BP) /* a second BP flag: table order */);
	fp(EBDA, TABLE_AT, 4, 0, 0);
	assert_int_equal(find(EBDA, 0), 0);
	assert_int_equal(cpus.count, 5);
	const unsigned ids[] = { 6, 4, 5, 7, 8 }, uids[] = { 2, 0, 1, 3, 4 };
	for (unsigned i = 0; i < 5; i++) {
		assert_int_equal(cpus.cpu[i].apic_id, ids[i]);
		assert_int_equal(cpus.cpu[i].acpi_uid, uids[i]);
	}
}

static void test_bad_floating_pointer(void **s)
{
	(void)s;
	TABLE(CPU(0, EN | BP), CPU(1, EN));
	fp(EBDA, TABLE_AT, 4, 0, 0);
	at(EBDA)[10] ^= 1;
	assert_int_equal(find(EBDA, 0), -1);
	assert_non_null(strstr(why, "MP floating pointer checksum is wrong"));
	assert_non_null(strstr(why, "0x9f000"));
	assert_int_equal(cpus.count, 0);

	/* A bad one passed over for a good one further on: found, and no reason left behind. */
	fp(ROM_FP, TABLE_AT, 4, 0, 0);
	assert_int_equal(find(EBDA, 0), 0);
	assert_int_equal(cpus.count, 2);
	assert_string_equal(why, "");
	memset(at(ROM_FP), 0, 16);

	fp(EBDA, TABLE_AT, 4, 0, 0);
	at(EBDA)[8] = 2; /* two paragraphs: not a length this spec defines */
	fix_checksum(at(EBDA), 16, at(EBDA) + 10);
	assert_int_equal(find(EBDA, 0), -1);
	assert_non_null(strstr(why, "has length 2"));

	fp(EBDA, TABLE_AT, 2, 0, 0);
	assert_int_equal(find(EBDA, 0), -1);
	assert_non_null(strstr(why, "spec revision 2"));

	fp(EBDA, 0, 4, 0, 0);
	assert_int_equal(find(EBDA, 0), -1);
	assert_non_null(strstr(why, "neither a configuration table nor a default configuration"));

	fp(EBDA, 0, 4, 8, 0);
	assert_int_equal(find(EBDA, 0), -1);
	assert_non_null(strstr(why, "default configuration 8"));
}

static void test_bad_table_checksum(void **s)
{
	(void)s;
	TABLE(CPU(0, EN | BP), CPU(1, EN));
	fp(EBDA, TABLE_AT, 4, 0, 0);
	at(TABLE_AT)[44 + 1] ^= 1; /* an APIC ID changes, the checksum does not */
	assert_int_equal(find(EBDA, 0), -1);
	assert_non_null(strstr(why, "MP configuration table checksum is wrong"));
	assert_int_equal(cpus.count, 0);

	TABLE(CPU(0, EN | BP), CPU(1, EN));
	memcpy(at(TABLE_AT), "PCMQ", 4);
	assert_int_equal(find(EBDA, 0), -1);
	assert_non_null(strstr(why, "signature PCMP"));

	TABLE(CPU(0, EN | BP), CPU(1, EN));
	at(TABLE_AT)[6] = 3;
	at(TABLE_AT)[7]++; /* the checksum still right */
	assert_int_equal(find(EBDA, 0), -1);
	assert_non_null(strstr(why, "spec revision 3"));
}

static void test_truncated_table(void **s)
{
	(void)s;
	static const uint8_t e[] = { CPU(0, EN | BP), CPU(1, EN) };
	fp(EBDA, TABLE_AT, 4, 0, 0);
	table_n(TABLE_AT, e, sizeof(e), 2);
	put16(at(TABLE_AT) + 4, 40);
	fix_checksum(at(TABLE_AT), 40, at(TABLE_AT) + 7);
	assert_int_equal(find(EBDA, 0), -1);
	assert_non_null(strstr(why, "MP configuration table length 40 is shorter than its header"));

	/* A table that would run past readable memory. */
	const uint64_t last = MEM_SIZE - 60;
	table_n(last, e, 16, 1); /* its header claims 60 bytes: fits */
	put16(at(last) + 4, 44 + sizeof(e));
	fp(EBDA, last, 4, 0, 0);
	assert_int_equal(find(EBDA, 0), -1);
	assert_non_null(strstr(why, "not in readable memory"));
	fp(EBDA, MEM_SIZE - 20, 4, 0, 0); /* a header that would */
	assert_int_equal(find(EBDA, 0), -1);
	assert_non_null(strstr(why, "header"));
	assert_non_null(strstr(why, "not in readable memory"));

	/* The table ends inside a processor entry. */
	fp(EBDA, TABLE_AT, 4, 0, 0);
	table_n(TABLE_AT, e, sizeof(e) - 4, 2);
	assert_int_equal(find(EBDA, 0), -1);
	assert_non_null(strstr(why, "entry 1 (type 0, 20 bytes at offset 64) runs past the table's length 80"));
	assert_int_equal(cpus.count, 0); /* not the first, complete processor */
}

static void test_entry_beyond_the_table(void **s)
{
	(void)s;
	static const uint8_t e[] = { CPU(0, EN | BP), CPU(1, EN) };
	table_n(TABLE_AT, e, sizeof(e), 3); /* three entries said, two there */
	fp(EBDA, TABLE_AT, 4, 0, 0);
	assert_int_equal(find(EBDA, 0), -1);
	assert_non_null(strstr(why, "entry 2 of 3 is beyond the table's length 84"));
	assert_int_equal(cpus.count, 0);

	/* Fewer entries said than there are bytes: the rest is not read. */
	table_n(TABLE_AT, (const uint8_t[]){ CPU(0, EN | BP), 9, 9, 9, 9 }, 24, 1);
	assert_int_equal(find(EBDA, 0), 0);
	assert_int_equal(cpus.count, 1);
}

static void test_unknown_entry_type(void **s)
{
	(void)s;
	static const uint8_t e[] = { CPU(0, EN | BP), BUS(0, "PCI   "), IOAPIC(2), 9, 0, 0, 0, 0, 0, 0, 0, CPU(1, EN) };
	table_n(TABLE_AT, e, sizeof(e), 5);
	fp(EBDA, TABLE_AT, 4, 0, 0);
	assert_int_equal(find(EBDA, 0), -1);
	assert_non_null(strstr(why, "entry 3 has unknown type 9"));
	assert_int_equal(cpus.count, 0);

	/* An extended entry type (128 and up: they belong after the base table) in the base table is unknown too. */
	static const uint8_t x[] = { CPU(0, EN | BP), 128, 20, 0, 0, 0, 0, 0, 0 };
	table_n(TABLE_AT, x, sizeof(x), 2);
	assert_int_equal(find(EBDA, 0), -1);
	assert_non_null(strstr(why, "entry 1 has unknown type 128"));
}

static void test_default_configuration(void **s)
{
	(void)s;
	fp(ROM_FP, 0, 4, 5, 0x80);
	assert_int_equal(find(0, 0), 0);
	assert_int_equal(cpus.count, 2);
	assert_int_equal(cpus.cpu[0].apic_id, 0);
	assert_int_equal(cpus.cpu[1].apic_id, 1);
	assert_int_equal(cpus.cpu[1].acpi_uid, 1);
	assert_int_equal(cpus.lapic_base, 0xfee00000u);
	assert_true(cpus.pcat_compat);
	assert_int_equal(cpus.revision, 4);
	assert_non_null(strstr(why, "default configuration 5"));
	assert_non_null(strstr(why, "ISA + PCI"));

	/* A default configuration wins over a (forbidden) table pointer. */
	TABLE(CPU(0, EN | BP), CPU(1, EN), CPU(2, EN));
	fp(ROM_FP, TABLE_AT, 1, 1, 0);
	assert_int_equal(find(0, 0), 0);
	assert_int_equal(cpus.count, 2);
	assert_false(cpus.pcat_compat);
	assert_non_null(strstr(why, "default configuration 1"));
}

static void test_no_floating_pointer(void **s)
{
	(void)s;
	TABLE(CPU(0, EN | BP), CPU(1, EN));
	assert_int_equal(find(EBDA, BASE_END), -1);
	assert_non_null(strstr(why, "no MP floating pointer (_MP_)"));
	assert_int_equal(cpus.count, 0);

	/* Not on a 16-byte boundary: not found. */
	fp(ROM_FP + 4, TABLE_AT, 4, 0, 0);
	assert_int_equal(find(EBDA, BASE_END), -1);
	assert_non_null(strstr(why, "no MP floating pointer"));

	/* Nonsense search addresses from the caller: nothing read out of bounds, the ROM still searched. */
	fp(ROM_FP, TABLE_AT, 4, 0, 0);
	assert_int_equal(find(UINT64_MAX - 8, 100), 0);
	assert_int_equal(find(UINT64_MAX & ~0xfull, UINT64_MAX), 0);
	assert_int_equal(find(MEM_SIZE - 16, MEM_SIZE + 512), 0);
	assert_int_equal(cpus.count, 2);
	/* An unaligned EBDA address: searched from the next 16-byte boundary. */
	fp(EBDA + 0x10, TABLE2_AT, 4, 0, 0);
	static const uint8_t one[] = { CPU(0, EN | BP) };
	table_n(TABLE2_AT, one, sizeof(one), 1);
	assert_int_equal(find(EBDA + 3, 0), 0);
	assert_int_equal(cpus.count, 1);
}

static void test_more_cpus_than_the_list_holds(void **s)
{
	(void)s;
	static uint8_t e[(ACPI_MAX_CPUS + 3) * 20];
	for (unsigned i = 0; i < ACPI_MAX_CPUS + 3; i++) {
		const bool last = i == ACPI_MAX_CPUS + 2;
		const uint8_t c[] = { CPU(i & 0xff, EN | (last ? BP : 0)) }; /* the BP last of all */
		memcpy(e + 20 * i, c, 20);
	}
	table_n(TABLE_AT, e, sizeof(e), ACPI_MAX_CPUS + 3);
	fp(EBDA, TABLE_AT, 4, 0, 0);
	assert_int_equal(find(EBDA, 0), 0);
	assert_int_equal(cpus.count, ACPI_MAX_CPUS);
	assert_int_equal(cpus.dropped, 3);
	assert_int_equal(cpus.cpu[0].apic_id, (ACPI_MAX_CPUS + 2) & 0xff); /* the bootstrap processor is kept */
	assert_int_equal(cpus.cpu[0].acpi_uid, ACPI_MAX_CPUS + 2);
	assert_int_equal(cpus.cpu[1].acpi_uid, 0);
	assert_int_equal(cpus.cpu[ACPI_MAX_CPUS - 1].acpi_uid, ACPI_MAX_CPUS - 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_ebda_two_cpus, setup),
		cmocka_unit_test_setup(test_base_memory_end_four_cpus, setup),
		cmocka_unit_test_setup(test_bios_rom, setup),
		cmocka_unit_test_setup(test_each_area_two_and_four_cpus, setup),
		cmocka_unit_test_setup(test_search_order, setup),
		cmocka_unit_test_setup(test_disabled_cpu_left_out, setup),
		cmocka_unit_test_setup(test_bootstrap_processor_first, setup),
		cmocka_unit_test_setup(test_bad_floating_pointer, setup),
		cmocka_unit_test_setup(test_bad_table_checksum, setup),
		cmocka_unit_test_setup(test_truncated_table, setup),
		cmocka_unit_test_setup(test_entry_beyond_the_table, setup),
		cmocka_unit_test_setup(test_unknown_entry_type, setup),
		cmocka_unit_test_setup(test_default_configuration, setup),
		cmocka_unit_test_setup(test_no_floating_pointer, setup),
		cmocka_unit_test_setup(test_more_cpus_than_the_list_holds, setup),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
