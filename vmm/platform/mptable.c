/* The CPUs of the Intel MultiProcessor Specification 1.4 tables: see vmm/include/vmm/mptable.h. */
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include "vmm/format.h"
#include "vmm/mptable.h"

/* MP spec 1.4 section 4: the three places the MP floating pointer structure may be, searched in this order. */
#define MP_SEARCH_KIB           1024u               /* (a) the EBDA's first KiB, (b) base memory's last KiB */
#define MP_DEFAULT_BASE_MEM_END (640u * 1024u)      /* (b) with base memory's size unknown: 639-640 KiB */
#define MP_BIOS_ROM_START       0xf0000u            /* (c) the BIOS ROM, 0F0000h-0FFFFFh */
#define MP_BIOS_ROM_END         0x100000u
/* MP spec 1.4 4.1 (Table 4-1, and its errata in appendix E): the floating pointer structure. */
#define MP_FP_SIGNATURE         "_MP_"
#define MP_FP_ALIGN             16u   /* it starts on a 16-byte boundary */
#define MP_FP_PARAGRAPH         16u   /* LENGTH counts 16-byte paragraphs */
#define MP_FP_PARAGRAPHS        1u    /* the only length defined: one paragraph */
#define MP_FP_LENGTH            (MP_FP_PARAGRAPHS * MP_FP_PARAGRAPH)
#define MP_FP_OFF_CONFIG        4u    /* PHYSICAL ADDRESS POINTER of the configuration table, 0: none */
#define MP_FP_OFF_LENGTH        8u
#define MP_FP_OFF_SPEC_REV      9u
#define MP_FP_OFF_FEATURE1      11u   /* 0: a configuration table; else the default configuration's number */
#define MP_FP_OFF_FEATURE2      12u
#define MP_FEATURE2_IMCRP       (1u << 7) /* the IMCR is present: PIC mode (else virtual wire mode) */
#define MP_SPEC_REV_1_1         1u
#define MP_SPEC_REV_1_4         4u
/* MP spec 1.4 4.2 (Table 4-2): the configuration table header; the base table's entries follow it. */
#define MP_CT_SIGNATURE         "PCMP"
#define MP_CT_HEADER_LENGTH     44u
#define MP_CT_OFF_LENGTH        4u    /* BASE TABLE LENGTH, header included (16 bits) */
#define MP_CT_OFF_SPEC_REV      6u
#define MP_CT_OFF_ENTRY_COUNT   34u   /* entries of the base table (16 bits) */
#define MP_CT_OFF_LAPIC         36u   /* MEMORY-MAPPED ADDRESS OF LOCAL APIC */
/* MP spec 1.4 4.3 (Table 4-3): the base table's entry types; all other codes are reserved. */
enum {
	MP_ENTRY_PROCESSOR = 0,  /* 4.3.1: 20 bytes */
	MP_ENTRY_BUS = 1,        /* 4.3.2: 8 bytes */
	MP_ENTRY_IO_APIC = 2,    /* 4.3.3: 8 bytes */
	MP_ENTRY_IO_INTR = 3,    /* 4.3.4: 8 bytes */
	MP_ENTRY_LOCAL_INTR = 4, /* 4.3.5: 8 bytes */
	MP_ENTRY_TYPES
};
#define MP_PROCESSOR_LENGTH     20u
#define MP_OTHER_ENTRY_LENGTH   8u
/* MP spec 1.4 4.3.1 (Table 4-4): the processor entry. */
#define MP_PROC_OFF_APIC_ID     1u
#define MP_PROC_OFF_FLAGS       3u
#define MP_CPU_EN               (1u << 0) /* usable; the operating system must not touch it otherwise */
#define MP_CPU_BP               (1u << 1) /* the bootstrap processor */
/* MP spec 1.4 5 (Table 5-1): the default configurations, two processors without a table. */
#define MP_DEFAULT_CONFIG_LAST  7u
#define MP_DEFAULT_CPUS         2u          /* local APIC IDs assigned from zero: 0 and 1 */
#define MP_DEFAULT_LAPIC_BASE   0xfee00000u /* the local APICs at 0FEE0_0000h */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }

static bool checksum_ok(const uint8_t *p, uint32_t len)
{
	uint8_t sum = 0;
	for (uint32_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum == 0;
}

static bool spec_rev_ok(unsigned rev) { return rev == MP_SPEC_REV_1_1 || rev == MP_SPEC_REV_1_4; }

/* The search keeps the problem of the first rejected candidate: the reason given if no good one follows. */
struct fp_search {
	const struct acpi_mem *mem;
	bool rejected;
	char *why;
	size_t why_len;
};

__attribute__((format(printf, 2, 3))) static void reject(struct fp_search *s, const char *fmt, ...)
{
	if (s->rejected)
		return;
	s->rejected = true;
	va_list ap;
	va_start(ap, fmt);
	hv_vsnprintf(s->why, s->why_len, fmt, ap);
	va_end(ap);
}

/* The first good floating pointer on a 16-byte boundary in [start, start + len), or NULL. */
static const uint8_t *scan(struct fp_search *s, uint64_t start, uint64_t len, uint64_t *at)
{
	if (start > UINT64_MAX - len - MP_FP_ALIGN)
		return NULL; /* a nonsense address from the caller: nothing there */
	const uint64_t end = start + len;
	for (uint64_t pa = (start + MP_FP_ALIGN - 1) & ~(uint64_t)(MP_FP_ALIGN - 1); pa < end && end - pa >= MP_FP_LENGTH;
	     pa += MP_FP_ALIGN) {
		const uint8_t *p = s->mem->map(s->mem->ctx, pa, MP_FP_LENGTH);
		if (!p || memcmp(p, MP_FP_SIGNATURE, 4) != 0)
			continue;
		if (p[MP_FP_OFF_LENGTH] != MP_FP_PARAGRAPHS) {
			reject(s, "MP floating pointer at %#llx has length %u (16-byte units), not %u", (unsigned long long)pa,
			       p[MP_FP_OFF_LENGTH], MP_FP_PARAGRAPHS);
			continue;
		}
		if (!checksum_ok(p, MP_FP_LENGTH)) {
			reject(s, "MP floating pointer checksum is wrong (at %#llx)", (unsigned long long)pa);
			continue;
		}
		if (!spec_rev_ok(p[MP_FP_OFF_SPEC_REV])) {
			reject(s, "MP floating pointer at %#llx has spec revision %u, not %u (1.1) or %u (1.4)",
			       (unsigned long long)pa, p[MP_FP_OFF_SPEC_REV], MP_SPEC_REV_1_1, MP_SPEC_REV_1_4);
			continue;
		}
		*at = pa;
		return p;
	}
	return NULL;
}

/* An enabled processor: the bootstrap processor goes first (the first one flagged so), the others in table order. */
static void add_cpu(struct acpi_cpus *out, uint32_t apic_id, uint32_t index, bool bp, bool *bp_listed)
{
	const struct acpi_cpu c = { apic_id, index, false };
	if (bp && !*bp_listed) {
		*bp_listed = true;
		if (out->count == ACPI_MAX_CPUS) {
			out->dropped++; /* the last one listed makes room: the bootstrap processor is kept */
			out->count--;
		}
		memmove(&out->cpu[1], &out->cpu[0], out->count * sizeof(out->cpu[0]));
		out->cpu[0] = c;
		out->count++;
		return;
	}
	if (out->count == ACPI_MAX_CPUS) {
		out->dropped++;
		return;
	}
	out->cpu[out->count++] = c;
}

static int parse_table(const struct acpi_mem *mem, uint64_t pa, struct acpi_cpus *out, char *why, size_t why_len)
{
	const uint8_t *h = mem->map(mem->ctx, pa, MP_CT_HEADER_LENGTH);
	if (!h) {
		hv_snprintf(why, why_len, "the MP configuration table header at %#llx is not in readable memory",
			    (unsigned long long)pa);
		return -1;
	}
	if (memcmp(h, MP_CT_SIGNATURE, 4) != 0) {
		hv_snprintf(why, why_len, "no MP configuration table (signature %s) at %#llx", MP_CT_SIGNATURE,
			    (unsigned long long)pa);
		return -1;
	}
	const uint32_t len = rd16(h + MP_CT_OFF_LENGTH);
	if (len < MP_CT_HEADER_LENGTH) {
		hv_snprintf(why, why_len, "MP configuration table length %u is shorter than its header (%u bytes)", len,
			    MP_CT_HEADER_LENGTH);
		return -1;
	}
	const uint8_t *t = mem->map(mem->ctx, pa, len);
	if (!t) {
		hv_snprintf(why, why_len, "the MP configuration table at %#llx (%u bytes) is not in readable memory",
			    (unsigned long long)pa, len);
		return -1;
	}
	if (!checksum_ok(t, len)) {
		hv_snprintf(why, why_len, "MP configuration table checksum is wrong (at %#llx, %u bytes)",
			    (unsigned long long)pa, len);
		return -1;
	}
	if (!spec_rev_ok(t[MP_CT_OFF_SPEC_REV])) {
		hv_snprintf(why, why_len, "MP configuration table has spec revision %u, not %u (1.1) or %u (1.4)",
			    t[MP_CT_OFF_SPEC_REV], MP_SPEC_REV_1_1, MP_SPEC_REV_1_4);
		return -1;
	}
	out->lapic_base = rd32(t + MP_CT_OFF_LAPIC);
	const unsigned entries = rd16(t + MP_CT_OFF_ENTRY_COUNT);
	unsigned processors = 0;
	bool bp_listed = false;
	uint32_t off = MP_CT_HEADER_LENGTH;
	for (unsigned i = 0; i < entries; i++) {
		if (off >= len) {
			hv_snprintf(why, why_len, "MP configuration table entry %u of %u is beyond the table's length %u", i,
				    entries, len);
			return -1;
		}
		const uint8_t *e = t + off;
		if (e[0] >= MP_ENTRY_TYPES) {
			hv_snprintf(why, why_len, "MP configuration table entry %u has unknown type %u (at offset %u): "
				    "its length is unknown, the walk stops", i, e[0], off);
			return -1;
		}
		const uint32_t elen = e[0] == MP_ENTRY_PROCESSOR ? MP_PROCESSOR_LENGTH : MP_OTHER_ENTRY_LENGTH;
		if (elen > len - off) {
			hv_snprintf(why, why_len, "MP configuration table entry %u (type %u, %u bytes at offset %u) runs past "
				    "the table's length %u", i, e[0], elen, off, len);
			return -1;
		}
		if (e[0] == MP_ENTRY_PROCESSOR) {
			const uint8_t flags = e[MP_PROC_OFF_FLAGS];
			if (flags & MP_CPU_EN)
				add_cpu(out, e[MP_PROC_OFF_APIC_ID], processors, (flags & MP_CPU_BP) != 0, &bp_listed);
			processors++;
		}
		off += elen;
	}
	if (out->count == 0) {
		hv_snprintf(why, why_len, "the MP configuration table lists no enabled processor (%u processor entries)",
			    processors);
		return -1;
	}
	return 0;
}

static const char *const default_config_name[MP_DEFAULT_CONFIG_LAST + 1] = {
	/* MP spec 1.4 Table 5-1 */
	[1] = "ISA, discrete APIC",
	[2] = "EISA without IRQ0/IRQ13 chaining, discrete APIC",
	[3] = "EISA, discrete APIC",
	[4] = "MCA, discrete APIC",
	[5] = "ISA + PCI, integrated APIC",
	[6] = "EISA + PCI, integrated APIC",
	[7] = "MCA + PCI, integrated APIC",
};

static int find(const struct acpi_mem *mem, uint64_t ebda_base, uint64_t base_mem_end, struct acpi_cpus *out,
		char *why, size_t why_len)
{
	struct fp_search s = { mem, false, why, why_len };
	uint64_t at = 0;
	const uint8_t *fp = NULL;
	if (ebda_base)
		fp = scan(&s, ebda_base, MP_SEARCH_KIB, &at);
	if (!base_mem_end)
		base_mem_end = MP_DEFAULT_BASE_MEM_END;
	if (!fp && base_mem_end >= MP_SEARCH_KIB)
		fp = scan(&s, base_mem_end - MP_SEARCH_KIB, MP_SEARCH_KIB, &at);
	if (!fp)
		fp = scan(&s, MP_BIOS_ROM_START, MP_BIOS_ROM_END - MP_BIOS_ROM_START, &at);
	if (!fp) {
		if (!s.rejected)
			hv_snprintf(why, why_len, "no MP floating pointer (%s) in the EBDA's first KiB, the last KiB of base "
				    "memory or the BIOS ROM %#x-%#x", MP_FP_SIGNATURE, MP_BIOS_ROM_START, MP_BIOS_ROM_END - 1);
		return -1;
	}
	if (why_len)
		why[0] = 0; /* a candidate passed over before this one is no longer the story */
	out->revision = fp[MP_FP_OFF_SPEC_REV];
	out->pcat_compat = (fp[MP_FP_OFF_FEATURE2] & MP_FEATURE2_IMCRP) != 0;
	const unsigned config = fp[MP_FP_OFF_FEATURE1];
	if (config > MP_DEFAULT_CONFIG_LAST) {
		hv_snprintf(why, why_len, "MP floating pointer at %#llx names default configuration %u, which MP spec 1.4 "
			    "does not define (1-%u)", (unsigned long long)at, config, MP_DEFAULT_CONFIG_LAST);
		return -1;
	}
	if (config) {
		for (unsigned i = 0; i < MP_DEFAULT_CPUS; i++)
			out->cpu[i] = (struct acpi_cpu){ i, i, false };
		out->count = MP_DEFAULT_CPUS;
		out->lapic_base = MP_DEFAULT_LAPIC_BASE;
		hv_snprintf(why, why_len, "no MP configuration table: default configuration %u (%s), two CPUs with APIC "
			    "IDs 0 and 1", config, default_config_name[config]);
		return 0;
	}
	const uint64_t table = rd32(fp + MP_FP_OFF_CONFIG);
	if (!table) {
		hv_snprintf(why, why_len, "MP floating pointer at %#llx gives neither a configuration table nor a default "
			    "configuration", (unsigned long long)at);
		return -1;
	}
	return parse_table(mem, table, out, why, why_len);
}

int mptable_find_cpus(const struct acpi_mem *mem, uint64_t ebda_base, uint64_t base_mem_end, struct acpi_cpus *out,
		      char *why, size_t why_len)
{
	memset(out, 0, sizeof(*out));
	if (find(mem, ebda_base, base_mem_end, out, why, why_len) == 0)
		return 0;
	memset(out, 0, sizeof(*out)); /* a broken table lists nothing, not its first entries */
	return -1;
}
