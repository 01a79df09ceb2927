/* The CPUs of the ACPI MADT: see vmm/include/vmm/acpi.h. */
#include <string.h>
#include "vmm/acpi.h"
#include "vmm/format.h"

/* ACPI 6.5 5.2.5.3: the RSDP. */
#define RSDP_SIGNATURE      "RSD PTR "
#define RSDP_V1_LENGTH      20u  /* the ACPI 1.0 part the first checksum covers */
#define RSDP_V2_MIN_LENGTH  36u  /* with XsdtAddress and the extended checksum */
#define RSDP_OFF_REVISION   15u
#define RSDP_OFF_RSDT       16u
#define RSDP_OFF_LENGTH     20u
#define RSDP_OFF_XSDT       24u
/* ACPI 6.5 5.2.6: every system description table starts with this header. */
#define SDT_HEADER_LENGTH   36u
#define SDT_OFF_LENGTH      4u
#define SDT_MAX_LENGTH      (1u << 20) /* no MADT/XSDT of a real machine comes near a MiB */
/* ACPI 6.5 5.2.12: the MADT after the header, and its interrupt controller structures. */
#define MADT_OFF_LAPIC      36u
#define MADT_OFF_FLAGS      40u
#define MADT_OFF_ENTRIES    44u
#define MADT_PCAT_COMPAT    (1u << 0)
enum {
	MADT_LOCAL_APIC = 0,          /* 5.2.12.2: ACPI processor UID (1), APIC ID (1), flags (4) */
	MADT_LOCAL_APIC_OVERRIDE = 5, /* 5.2.12.8: reserved (2), 64-bit address */
	MADT_LOCAL_X2APIC = 9,        /* 5.2.12.12: reserved (2), x2APIC ID (4), flags (4), UID (4) */
};
#define MADT_LOCAL_APIC_LENGTH          8u
#define MADT_LOCAL_APIC_OVERRIDE_LENGTH 12u
#define MADT_LOCAL_X2APIC_LENGTH        16u
#define LAPIC_FLAG_ENABLED        (1u << 0) /* Table 5.22 */
#define LAPIC_FLAG_ONLINE_CAPABLE (1u << 1)
#define X2APIC_ID_NONE            0xffffffffu /* not a processor (ACPI 6.5 5.2.12.12) */

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static bool checksum_ok(const uint8_t *p, uint32_t len)
{
	uint8_t sum = 0;
	for (uint32_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum == 0;
}

/* A whole table at pa with the given signature, checked; NULL with the reason in why. */
static const uint8_t *map_table(const struct acpi_mem *mem, uint64_t pa, const char *sig, uint32_t *len,
				char *why, size_t why_len)
{
	const uint8_t *h = mem->map(mem->ctx, pa, SDT_HEADER_LENGTH);
	if (!h) {
		hv_snprintf(why, why_len, "a table header at %#llx is not in readable memory", (unsigned long long)pa);
		return NULL;
	}
	if (sig && memcmp(h, sig, 4) != 0) {
		hv_snprintf(why, why_len, "the table at %#llx is not %s", (unsigned long long)pa, sig);
		return NULL;
	}
	*len = rd32(h + SDT_OFF_LENGTH);
	if (*len < SDT_HEADER_LENGTH || *len > SDT_MAX_LENGTH) {
		hv_snprintf(why, why_len, "the %.4s table at %#llx has an impossible length %u", (const char *)h,
			    (unsigned long long)pa, *len);
		return NULL;
	}
	const uint8_t *t = mem->map(mem->ctx, pa, *len);
	if (!t) {
		hv_snprintf(why, why_len, "the %.4s table at %#llx (%u bytes) is not in readable memory", (const char *)h,
			    (unsigned long long)pa, *len);
		return NULL;
	}
	if (!checksum_ok(t, *len)) {
		hv_snprintf(why, why_len, "the %.4s table at %#llx has a wrong checksum", (const char *)t,
			    (unsigned long long)pa);
		return NULL;
	}
	return t;
}

static void add_cpu(struct acpi_cpus *out, uint32_t apic_id, uint32_t uid, uint32_t flags, bool x2)
{
	if (!(flags & LAPIC_FLAG_ENABLED)) {
		if (flags & LAPIC_FLAG_ONLINE_CAPABLE)
			out->online_capable++;
		return;
	}
	if (out->count == ACPI_MAX_CPUS) {
		out->dropped++;
		return;
	}
	out->cpu[out->count++] = (struct acpi_cpu){ apic_id, uid, x2 };
}

static int parse_madt(const uint8_t *t, uint32_t len, struct acpi_cpus *out, char *why, size_t why_len)
{
	if (len < MADT_OFF_ENTRIES) {
		hv_snprintf(why, why_len, "the MADT is %u bytes, shorter than its fixed part", len);
		return -1;
	}
	out->lapic_base = rd32(t + MADT_OFF_LAPIC);
	out->pcat_compat = (rd32(t + MADT_OFF_FLAGS) & MADT_PCAT_COMPAT) != 0;
	for (uint32_t off = MADT_OFF_ENTRIES; off < len;) {
		if (len - off < 2) {
			hv_snprintf(why, why_len, "the MADT ends inside an entry header at offset %u", off);
			return -1;
		}
		const uint8_t type = t[off], elen = t[off + 1];
		if (elen < 2 || elen > len - off) {
			hv_snprintf(why, why_len, "MADT entry type %u at offset %u has a bad length %u", type, off, elen);
			return -1;
		}
		const uint8_t *e = t + off;
		if (type == MADT_LOCAL_APIC && elen >= MADT_LOCAL_APIC_LENGTH)
			add_cpu(out, e[3], e[2], rd32(e + 4), false);
		else if (type == MADT_LOCAL_X2APIC && elen >= MADT_LOCAL_X2APIC_LENGTH && rd32(e + 4) != X2APIC_ID_NONE)
			add_cpu(out, rd32(e + 4), rd32(e + 12), rd32(e + 8), true);
		else if (type == MADT_LOCAL_APIC_OVERRIDE && elen >= MADT_LOCAL_APIC_OVERRIDE_LENGTH)
			out->lapic_base = rd64(e + 4);
		off += elen;
	}
	if (out->count == 0) {
		hv_snprintf(why, why_len, "the MADT lists no enabled processor");
		return -1;
	}
	return 0;
}

int acpi_find_cpus(const struct acpi_mem *mem, uint64_t rsdp, struct acpi_cpus *out, char *why, size_t why_len)
{
	memset(out, 0, sizeof(*out));
	if (!rsdp) {
		hv_snprintf(why, why_len, "the loader found no ACPI RSDP");
		return -1;
	}
	const uint8_t *r = mem->map(mem->ctx, rsdp, RSDP_V1_LENGTH);
	if (!r || memcmp(r, RSDP_SIGNATURE, 8) != 0) {
		hv_snprintf(why, why_len, "no RSDP signature at %#llx", (unsigned long long)rsdp);
		return -1;
	}
	if (!checksum_ok(r, RSDP_V1_LENGTH)) {
		hv_snprintf(why, why_len, "the RSDP checksum is wrong");
		return -1;
	}
	out->revision = r[RSDP_OFF_REVISION];
	uint64_t root = rd32(r + RSDP_OFF_RSDT);
	unsigned entry_size = 4;
	const char *root_sig = "RSDT";
	if (out->revision >= 2) {
		const uint8_t *r2 = mem->map(mem->ctx, rsdp, RSDP_V2_MIN_LENGTH);
		const uint32_t rlen = r2 ? rd32(r2 + RSDP_OFF_LENGTH) : 0;
		const uint8_t *rx = rlen >= RSDP_V2_MIN_LENGTH && rlen <= SDT_MAX_LENGTH ? mem->map(mem->ctx, rsdp, rlen) : NULL;
		if (!rx || !checksum_ok(rx, rlen)) {
			hv_snprintf(why, why_len, "the ACPI 2.0 RSDP (revision %u) has a bad length or extended checksum",
				    out->revision);
			return -1;
		}
		if (rd64(rx + RSDP_OFF_XSDT)) { /* ACPI 6.5 5.2.5.3: use the XSDT when there is one */
			root = rd64(rx + RSDP_OFF_XSDT);
			entry_size = 8;
			root_sig = "XSDT";
			out->used_xsdt = true;
		}
	}
	uint32_t len;
	const uint8_t *rt = map_table(mem, root, root_sig, &len, why, why_len);
	if (!rt)
		return -1;
	const unsigned entries = (len - SDT_HEADER_LENGTH) / entry_size;
	for (unsigned i = 0; i < entries; i++) {
		const uint8_t *p = rt + SDT_HEADER_LENGTH + i * entry_size;
		const uint64_t pa = entry_size == 8 ? rd64(p) : rd32(p);
		const uint8_t *h = pa ? mem->map(mem->ctx, pa, SDT_HEADER_LENGTH) : NULL;
		if (!h || memcmp(h, "APIC", 4) != 0)
			continue;
		uint32_t mlen;
		const uint8_t *madt = map_table(mem, pa, "APIC", &mlen, why, why_len);
		if (madt && parse_madt(madt, mlen, out, why, why_len) == 0)
			return 0;
		out->count = 0; /* a broken MADT lists nothing, not its first entries */
		return -1;
	}
	hv_snprintf(why, why_len, "no MADT (signature APIC) among the %u tables of the %s", entries, root_sig);
	return -1;
}
