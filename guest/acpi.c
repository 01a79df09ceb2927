/*
 * The MADT's processors (guest/include/guest/acpi.h).  Called while the boot page tables (the
 * identity map of the low 4 GiB, guest/start.asm) are live: a table is read where it lies, after
 * checking that all of it is below 4 GiB.  Fields are read bytewise (tables need no alignment).
 */
#include <string.h>
#include <vmm/format.h>
#include "guest/acpi.h"
#include "guest/kernel.h"

/* ACPI 6.5 5.2.5.3: the RSDP. */
#define RSDP_SIGNATURE      "RSD PTR "
#define RSDP_SIGNATURE_LEN  8u
#define RSDP_V1_LENGTH      20u  /* what the first checksum covers */
#define RSDP_V2_LENGTH      36u  /* with Length, XsdtAddress and the extended checksum */
#define RSDP_OFF_REVISION   15u
#define RSDP_OFF_RSDT       16u
#define RSDP_OFF_LENGTH     20u
#define RSDP_OFF_XSDT       24u
/* ACPI 6.5 5.2.6: the header of every system description table. */
#define SDT_HEADER_LENGTH   36u
#define SDT_OFF_LENGTH      4u
#define SDT_SIGNATURE_LEN   4u
#define SDT_MAX_LENGTH      0x10000u /* no RSDT, XSDT or MADT of a machine this kernel runs on comes near */
/* ACPI 6.5 5.2.12: the MADT. */
#define MADT_OFF_LAPIC      36u
#define MADT_OFF_ENTRIES    44u
#define MADT_ENTRY_HEADER   2u
enum {
	MADT_LOCAL_APIC = 0,          /* 5.2.12.2: UID (1), APIC ID (1), flags (4) */
	MADT_LOCAL_APIC_OVERRIDE = 5, /* 5.2.12.8: reserved (2), address (8) */
	MADT_LOCAL_X2APIC = 9,        /* 5.2.12.12: reserved (2), x2APIC ID (4), flags (4), UID (4) */
};
#define MADT_LOCAL_APIC_LENGTH          8u
#define MADT_LOCAL_APIC_OVERRIDE_LENGTH 12u
#define MADT_LOCAL_X2APIC_LENGTH        16u
#define MADT_FLAG_ENABLED   (1u << 0) /* Table 5.24 */
#define X2APIC_ID_NONE      0xffffffffu
#define BOOT_MAP_END        (1ull << 32) /* what guest/start.asm's boot tables map */

static uint32_t rd32(const uint8_t *p) { return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t rd64(const uint8_t *p) { return rd32(p) | (uint64_t)rd32(p + 4) << 32; }

static bool checksum_ok(const uint8_t *p, uint32_t len)
{
	uint8_t sum = 0;
	for (uint32_t i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	return sum == 0;
}

static bool readable(uint64_t pa, uint64_t len)
{
	return pa && len <= BOOT_MAP_END && pa <= BOOT_MAP_END - len;
}

/* The table at pa, checked: signature (unless NULL), length, checksum; NULL with the reason. */
static const uint8_t *table_at(uint64_t pa, const char *sig, uint32_t *len, char *why, size_t cap)
{
	if (!readable(pa, SDT_HEADER_LENGTH)) {
		hv_snprintf(why, cap, pa ? "a table address %#llx outside the low 4 GiB" : "a null table address (%#llx)",
			    (unsigned long long)pa);
		return NULL;
	}
	const uint8_t *t = (const uint8_t *)(uintptr_t)pa;
	if (sig && memcmp(t, sig, SDT_SIGNATURE_LEN) != 0) {
		hv_snprintf(why, cap, "the table at %#llx is not %s", (unsigned long long)pa, sig);
		return NULL;
	}
	*len = rd32(t + SDT_OFF_LENGTH);
	if (*len < SDT_HEADER_LENGTH || *len > SDT_MAX_LENGTH || !readable(pa, *len)) {
		hv_snprintf(why, cap, "the %.4s table at %#llx has an impossible length %u", (const char *)t,
			    (unsigned long long)pa, *len);
		return NULL;
	}
	if (!checksum_ok(t, *len)) {
		hv_snprintf(why, cap, "the %.4s table at %#llx has a wrong checksum", (const char *)t,
			    (unsigned long long)pa);
		return NULL;
	}
	return t;
}

static void add_cpu(struct acpi_cpu_list *out, uint32_t apic_id, uint32_t flags, bool x2)
{
	if (!(flags & MADT_FLAG_ENABLED)) {
		out->disabled++;
		return;
	}
	for (unsigned i = 0; i < out->count && i < GUEST_MAX_CPUS; i++)
		if (out->apic_id[i] == apic_id) {
			out->duplicates++;
			return;
		}
	if (out->count >= GUEST_MAX_CPUS) {
		out->dropped++;
		return;
	}
	out->x2apic_entry[out->count] = x2;
	out->apic_id[out->count++] = apic_id;
}

static int parse_madt(const uint8_t *t, uint32_t len, struct acpi_cpu_list *out, char *why, size_t cap)
{
	if (len < MADT_OFF_ENTRIES) {
		hv_snprintf(why, cap, "the MADT is %u bytes, shorter than its fixed part", len);
		return -1;
	}
	out->lapic_base = rd32(t + MADT_OFF_LAPIC);
	for (uint32_t off = MADT_OFF_ENTRIES; off < len;) {
		if (len - off < MADT_ENTRY_HEADER) {
			hv_snprintf(why, cap, "the MADT ends inside an entry header at offset %u", off);
			return -1;
		}
		const uint8_t type = t[off], elen = t[off + 1];
		if (elen < MADT_ENTRY_HEADER || elen > len - off) {
			hv_snprintf(why, cap, "MADT entry type %u at offset %u has a bad length %u", type, off, elen);
			return -1;
		}
		const uint8_t *e = t + off;
		if (type == MADT_LOCAL_APIC && elen >= MADT_LOCAL_APIC_LENGTH)
			add_cpu(out, e[3], rd32(e + 4), false);
		else if (type == MADT_LOCAL_X2APIC && elen >= MADT_LOCAL_X2APIC_LENGTH && rd32(e + 4) != X2APIC_ID_NONE)
			add_cpu(out, rd32(e + 4), rd32(e + 8), true);
		else if (type == MADT_LOCAL_APIC_OVERRIDE && elen >= MADT_LOCAL_APIC_OVERRIDE_LENGTH)
			out->lapic_base = rd64(e + 4);
		off += elen;
	}
	if (!out->count) {
		hv_snprintf(why, cap, "the MADT lists no enabled processor");
		return -1;
	}
	return 0;
}

int acpi_find_cpus(struct acpi_cpu_list *out, char *why, size_t cap)
{
	memset(out, 0, sizeof(*out));
	const uint8_t *r = boot_config.acpi_rsdp;
	const uint32_t have = boot_config.acpi_rsdp_len < ACPI_RSDP_COPY_MAX ? boot_config.acpi_rsdp_len : ACPI_RSDP_COPY_MAX;
	if (have < RSDP_V1_LENGTH || memcmp(r, RSDP_SIGNATURE, RSDP_SIGNATURE_LEN) != 0) {
		hv_snprintf(why, cap, "the ACPI tag (type %u, %u bytes) holds no RSDP", boot_config.acpi_tag,
			    boot_config.acpi_rsdp_len);
		return -1;
	}
	if (!checksum_ok(r, RSDP_V1_LENGTH)) {
		hv_snprintf(why, cap, "the RSDP checksum is wrong");
		return -1;
	}
	out->rsdp_revision = r[RSDP_OFF_REVISION];
	uint64_t root = rd32(r + RSDP_OFF_RSDT);
	unsigned entry_size = sizeof(uint32_t);
	const char *root_sig = "RSDT";
	if (out->rsdp_revision >= 2) {
		const uint32_t rlen = have >= RSDP_V2_LENGTH ? rd32(r + RSDP_OFF_LENGTH) : 0;
		if (rlen < RSDP_V2_LENGTH || rlen > have || !checksum_ok(r, rlen)) {
			hv_snprintf(why, cap, "the ACPI 2.0 RSDP (revision %u) has a bad length (%u) or extended checksum",
				    out->rsdp_revision, rlen);
			return -1;
		}
		if (rd64(r + RSDP_OFF_XSDT)) { /* ACPI 6.5 5.2.5.3: the XSDT, when there is one */
			root = rd64(r + RSDP_OFF_XSDT);
			entry_size = sizeof(uint64_t);
			root_sig = "XSDT";
			out->used_xsdt = true;
		}
	}
	uint32_t len;
	const uint8_t *rt = table_at(root, root_sig, &len, why, cap);
	if (!rt)
		return -1;
	out->root_pa = root;
	out->root_len = len;
	const unsigned entries = (len - SDT_HEADER_LENGTH) / entry_size;
	for (unsigned i = 0; i < entries; i++) {
		const uint8_t *p = rt + SDT_HEADER_LENGTH + i * entry_size;
		const uint64_t pa = entry_size == sizeof(uint64_t) ? rd64(p) : rd32(p);
		if (!readable(pa, SDT_HEADER_LENGTH) || memcmp((const void *)(uintptr_t)pa, "APIC", SDT_SIGNATURE_LEN) != 0)
			continue;
		uint32_t mlen;
		const uint8_t *madt = table_at(pa, "APIC", &mlen, why, cap);
		if (!madt)
			return -1;
		out->madt_pa = pa;
		out->madt_len = mlen;
		if (parse_madt(madt, mlen, out, why, cap) == 0)
			return 0;
		out->count = 0; /* a broken MADT lists nothing, not its first entries */
		return -1;
	}
	hv_snprintf(why, cap, "no MADT (signature APIC) among the %u tables of the %s", entries, root_sig);
	return -1;
}
