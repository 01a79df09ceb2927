/*
 * Host unit tests for vmm/core/event_merge.c: the exception classes of SDM Vol. 3A Table 6-4 and the
 * double-fault rules of Table 6-5 ("Conditions for Generating a Double Fault"), every pair of vectors.
 * The expected values are written out here from the SDM's tables, independently of the code.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <cmocka.h>

#include <arch/segment.h>
#include "vmm/events.h"

#define VECTORS 32 /* the architecture's exception vectors (SDM Table 6-1); 22-31 reserved */

/* SDM Vol. 3A Table 6-4, by vector. */
static const enum exception_class sdm_class[VECTORS] = {
	[0] = EXC_CONTRIBUTORY,  /* #DE */
	[1] = EXC_BENIGN,        /* #DB */
	[2] = EXC_BENIGN,        /* NMI */
	[3] = EXC_BENIGN,        /* #BP */
	[4] = EXC_BENIGN,        /* #OF */
	[5] = EXC_BENIGN,        /* #BR */
	[6] = EXC_BENIGN,        /* #UD */
	[7] = EXC_BENIGN,        /* #NM */
	[8] = EXC_DOUBLE_FAULT,  /* #DF */
	[9] = EXC_BENIGN,        /* coprocessor segment overrun */
	[10] = EXC_CONTRIBUTORY, /* #TS */
	[11] = EXC_CONTRIBUTORY, /* #NP */
	[12] = EXC_CONTRIBUTORY, /* #SS */
	[13] = EXC_CONTRIBUTORY, /* #GP */
	[14] = EXC_PAGE_FAULT,   /* #PF */
	[15] = EXC_BENIGN,       /* reserved */
	[16] = EXC_BENIGN,       /* #MF */
	[17] = EXC_BENIGN,       /* #AC */
	[18] = EXC_BENIGN,       /* #MC */
	[19] = EXC_BENIGN,       /* #XM */
	[20] = EXC_PAGE_FAULT,   /* #VE: in the page-fault class */
	[21] = EXC_CONTRIBUTORY, /* #CP */
	/* 22-31: reserved, benign (zero-initialised: EXC_BENIGN == 0 is checked below) */
};

/*
 * SDM Vol. 3A Table 6-5: rows the first exception's class, columns the second's.  A #DF as the second
 * event is not in the table: it is delivered as itself (serial).
 */
static const enum event_merge sdm_merge[4][4] = {
	/* second:                 benign        contributory        page fault          double fault */
	[EXC_BENIGN]       = { MERGE_SERIAL, MERGE_SERIAL,       MERGE_SERIAL,       MERGE_SERIAL },
	[EXC_CONTRIBUTORY] = { MERGE_SERIAL, MERGE_DOUBLE_FAULT, MERGE_SERIAL,       MERGE_SERIAL },
	[EXC_PAGE_FAULT]   = { MERGE_SERIAL, MERGE_DOUBLE_FAULT, MERGE_DOUBLE_FAULT, MERGE_SERIAL },
	[EXC_DOUBLE_FAULT] = { MERGE_SERIAL, MERGE_TRIPLE_FAULT, MERGE_TRIPLE_FAULT, MERGE_SERIAL },
};

static struct event ev(uint8_t type, unsigned vector)
{
	struct event e = { .valid = true, .type = type, .vector = (uint8_t)vector };
	return e;
}

static void test_exception_classes(void **s)
{
	(void)s;
	assert_int_equal(EXC_BENIGN, 0);
	for (unsigned v = 0; v < VECTORS; v++) {
		if (exception_class_of(v) != sdm_class[v])
			fail_msg("vector %u: class %d, SDM Table 6-4 says %d", v, exception_class_of(v), sdm_class[v]);
	}
	/* Interrupt vectors are no exceptions: never contributory. */
	for (unsigned v = VECTORS; v < 256; v++)
		assert_int_equal(exception_class_of(v), EXC_BENIGN);
}

/* The named cases of the brief, one by one, before the exhaustive sweep. */
static void test_named_cases(void **s)
{
	(void)s;
	struct event de = ev(EVENT_HARD_EXCEPTION, VECTOR_DE), gp = ev(EVENT_HARD_EXCEPTION, VECTOR_GP);
	struct event ts = ev(EVENT_HARD_EXCEPTION, VECTOR_TS), pf = ev(EVENT_HARD_EXCEPTION, VECTOR_PF);
	struct event df = ev(EVENT_HARD_EXCEPTION, VECTOR_DF), ud = ev(EVENT_HARD_EXCEPTION, VECTOR_UD);
	struct event db = ev(EVENT_HARD_EXCEPTION, VECTOR_DB), np = ev(EVENT_HARD_EXCEPTION, VECTOR_NP);
	struct event ve = ev(EVENT_HARD_EXCEPTION, VECTOR_VE), cp = ev(EVENT_HARD_EXCEPTION, VECTOR_CP);

	assert_int_equal(event_merge(&de, &gp), MERGE_DOUBLE_FAULT); /* contributory + contributory */
	assert_int_equal(event_merge(&ts, &np), MERGE_DOUBLE_FAULT);
	assert_int_equal(event_merge(&gp, &cp), MERGE_DOUBLE_FAULT);
	assert_int_equal(event_merge(&gp, &pf), MERGE_SERIAL);       /* contributory then #PF */
	assert_int_equal(event_merge(&pf, &pf), MERGE_DOUBLE_FAULT); /* #PF then #PF */
	assert_int_equal(event_merge(&pf, &gp), MERGE_DOUBLE_FAULT); /* #PF then contributory */
	assert_int_equal(event_merge(&ve, &pf), MERGE_DOUBLE_FAULT); /* #VE is in the page-fault class */
	assert_int_equal(event_merge(&pf, &ud), MERGE_SERIAL);       /* #PF then benign */
	assert_int_equal(event_merge(&df, &gp), MERGE_TRIPLE_FAULT);
	assert_int_equal(event_merge(&df, &pf), MERGE_TRIPLE_FAULT);
	assert_int_equal(event_merge(&df, &db), MERGE_SERIAL);
	assert_int_equal(event_merge(&ud, &gp), MERGE_SERIAL);       /* benign first: always serial */
	assert_int_equal(event_merge(&db, &pf), MERGE_SERIAL);
}

/* Every pair of exception vectors, both hardware exceptions: Table 6-5. */
static void test_table_6_5_exhaustive(void **s)
{
	(void)s;
	unsigned double_faults = 0, triple_faults = 0;
	for (unsigned a = 0; a < VECTORS; a++) {
		for (unsigned b = 0; b < VECTORS; b++) {
			const struct event first = ev(EVENT_HARD_EXCEPTION, a), second = ev(EVENT_HARD_EXCEPTION, b);
			const enum event_merge want = sdm_merge[sdm_class[a]][sdm_class[b]];
			const enum event_merge got = event_merge(&first, &second);
			if (got != want)
				fail_msg("first %u then %u: merge %d, SDM Table 6-5 says %d", a, b, got, want);
			double_faults += got == MERGE_DOUBLE_FAULT;
			triple_faults += got == MERGE_TRIPLE_FAULT;
		}
	}
	/* 6 contributory x 6 contributory + 2 page-fault-class x (6 + 2); #DF x (6 + 2). */
	assert_int_equal(double_faults, 6 * 6 + 2 * 8);
	assert_int_equal(triple_faults, 8);
}

/*
 * Only a hardware exception being delivered can turn the next one into a #DF: an external interrupt,
 * an NMI, INT n, INT1, INT3/INTO, or no event at all are handled serially, whatever their vector.
 */
static void test_non_exception_first_is_serial(void **s)
{
	(void)s;
	static const uint8_t types[] = { EVENT_EXTERNAL_INTERRUPT, EVENT_NMI, EVENT_SOFT_INTERRUPT,
					 EVENT_PRIV_SOFT_EXCEPTION, EVENT_SOFT_EXCEPTION };
	for (size_t t = 0; t < sizeof(types); t++) {
		for (unsigned a = 0; a < 256; a++) {
			const struct event first = ev(types[t], a);
			for (unsigned b = 0; b < VECTORS; b++) {
				const struct event second = ev(EVENT_HARD_EXCEPTION, b);
				if (event_merge(&first, &second) != MERGE_SERIAL)
					fail_msg("type %u vector %u then #%u: not serial", types[t], a, b);
			}
		}
	}
	/* Nothing queued (valid clear), even with a #DF's vector and type left in the slot. */
	struct event none = ev(EVENT_HARD_EXCEPTION, VECTOR_DF);
	none.valid = false;
	struct event gp = ev(EVENT_HARD_EXCEPTION, VECTOR_GP);
	assert_int_equal(event_merge(&none, &gp), MERGE_SERIAL);
	/* A software event as the second one (INT 13 after a #PF) is not an exception either. */
	struct event pf = ev(EVENT_HARD_EXCEPTION, VECTOR_PF), int13 = ev(EVENT_SOFT_INTERRUPT, VECTOR_GP);
	assert_int_equal(event_merge(&pf, &int13), MERGE_SERIAL);
	struct event df = ev(EVENT_HARD_EXCEPTION, VECTOR_DF), nmi = ev(EVENT_NMI, VECTOR_NMI);
	assert_int_equal(event_merge(&df, &nmi), MERGE_SERIAL);
}

static void test_event_exception_builder(void **s)
{
	(void)s;
	struct event e = event_exception(VECTOR_GP, true, 0x18);
	assert_true(e.valid);
	assert_int_equal(e.type, EVENT_HARD_EXCEPTION);
	assert_int_equal(e.vector, VECTOR_GP);
	assert_true(e.has_error_code);
	assert_int_equal(e.error_code, 0x18);
	assert_int_equal(e.insn_len, 0);
	e = event_exception(VECTOR_UD, false, 0x1234); /* no error code: none kept */
	assert_false(e.has_error_code);
	assert_int_equal(e.error_code, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exception_classes),
		cmocka_unit_test(test_named_cases),
		cmocka_unit_test(test_table_6_5_exhaustive),
		cmocka_unit_test(test_non_exception_first_is_serial),
		cmocka_unit_test(test_event_exception_builder),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
