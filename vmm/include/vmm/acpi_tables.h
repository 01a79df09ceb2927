/*
 * The ACPI tables the monitor writes for its guest, so that the guest learns its vCPUs the way an OS
 * on a PC does: an RSDP (ACPI 6.5 5.2.5), an XSDT with one entry (5.2.8) and a MADT (5.2.12) with one
 * Processor Local APIC structure (5.2.12.2) per vCPU, or a Processor Local x2APIC structure
 * (5.2.12.12) for an APIC ID above 254.  Pure: it fills a buffer, the caller copies it into guest RAM
 * (vmm/loader/acpi_tables.c; tests/unit/test_acpi_tables.c reads the result back through the host
 * parser, vmm/platform/acpi.c).
 */
#ifndef VMM_ACPI_TABLES_H
#define VMM_ACPI_TABLES_H

#include <stddef.h>
#include <stdint.h>

/* ACPI 6.5 5.2.5.3: the Root System Description Pointer, revision 2 and later. */
#define ACPI_RSDP_SIGNATURE          "RSD PTR "
#define ACPI_RSDP_SIGNATURE_LEN      8u
#define ACPI_RSDP_REVISION           2u   /* ACPI 2.0 and later: Length, XsdtAddress, Extended Checksum */
#define ACPI_RSDP_ALIGN              16u  /* 5.2.5.1: on a 16-byte boundary */
#define ACPI_RSDP_CHECKSUM_LEN       20u  /* the Checksum covers the ACPI 1.0 part, bytes 0-19 */
#define ACPI_RSDP_OFF_SIGNATURE      0u
#define ACPI_RSDP_OFF_CHECKSUM       8u
#define ACPI_RSDP_OFF_OEM_ID         9u
#define ACPI_RSDP_OFF_REVISION       15u
#define ACPI_RSDP_OFF_RSDT           16u
#define ACPI_RSDP_OFF_LENGTH         20u
#define ACPI_RSDP_OFF_XSDT           24u
#define ACPI_RSDP_OFF_EXT_CHECKSUM   32u  /* covers the whole structure, Length bytes */
#define ACPI_RSDP_OFF_RESERVED       33u
#define ACPI_RSDP_LENGTH             36u

/* ACPI 6.5 5.2.6: the header of every system description table. */
#define ACPI_SIG_LEN                 4u
#define ACPI_OEM_ID_LEN              6u
#define ACPI_OEM_TABLE_ID_LEN        8u
#define ACPI_SDT_OFF_SIGNATURE       0u
#define ACPI_SDT_OFF_LENGTH          4u
#define ACPI_SDT_OFF_REVISION        8u
#define ACPI_SDT_OFF_CHECKSUM        9u   /* the whole table, Length bytes, sums to 0 */
#define ACPI_SDT_OFF_OEM_ID          10u
#define ACPI_SDT_OFF_OEM_TABLE_ID    16u
#define ACPI_SDT_OFF_OEM_REVISION    24u
#define ACPI_SDT_OFF_CREATOR_ID      28u
#define ACPI_SDT_OFF_CREATOR_REV     32u
#define ACPI_SDT_HEADER_LENGTH       36u

/* ACPI 6.5 5.2.8: the XSDT, the header then 64-bit physical addresses of tables. */
#define ACPI_XSDT_SIGNATURE          "XSDT"
#define ACPI_XSDT_REVISION           1u
#define ACPI_XSDT_OFF_ENTRIES        36u
#define ACPI_XSDT_ENTRY_SIZE         8u

/* ACPI 6.5 5.2.12: the MADT; its signature is "APIC". */
#define ACPI_MADT_SIGNATURE          "APIC"
#define ACPI_MADT_REVISION           6u   /* the MADT revision of ACPI 6.5 */
#define ACPI_MADT_OFF_LAPIC_ADDRESS  36u  /* Local Interrupt Controller Address */
#define ACPI_MADT_OFF_FLAGS          40u
#define ACPI_MADT_OFF_ENTRIES        44u  /* Interrupt Controller Structure[n] */
#define ACPI_MADT_PCAT_COMPAT        (1u << 0) /* a dual-8259 PC-AT setup is present */
#define ACPI_LAPIC_DEFAULT_ADDRESS   0xfee00000u /* where every local APIC's registers are on a PC */

/* ACPI 6.5 5.2.12.2: Processor Local APIC structure. */
#define ACPI_MADT_TYPE_LOCAL_APIC    0u
#define ACPI_LAPIC_OFF_TYPE          0u
#define ACPI_LAPIC_OFF_LENGTH        1u
#define ACPI_LAPIC_OFF_UID           2u   /* ACPI Processor UID, one byte */
#define ACPI_LAPIC_OFF_APIC_ID       3u
#define ACPI_LAPIC_OFF_FLAGS         4u
#define ACPI_LAPIC_LENGTH            8u
/* ACPI 6.5 5.2.12.12: Processor Local x2APIC structure. */
#define ACPI_MADT_TYPE_LOCAL_X2APIC  9u
#define ACPI_X2APIC_OFF_TYPE         0u
#define ACPI_X2APIC_OFF_LENGTH       1u
#define ACPI_X2APIC_OFF_RESERVED     2u
#define ACPI_X2APIC_OFF_X2APIC_ID    4u
#define ACPI_X2APIC_OFF_FLAGS        8u
#define ACPI_X2APIC_OFF_UID          12u  /* ACPI Processor UID, four bytes */
#define ACPI_X2APIC_LENGTH           16u
/* ACPI 6.5 5.2.12.2: Local APIC flags, shared by both structures. */
#define ACPI_LAPIC_FLAG_ENABLED      (1u << 0)
/*
 * 5.2.12.12: a processor whose APIC ID is below 255 is listed in a Processor Local APIC structure;
 * the x2APIC structure is for the others (255 is the xAPIC broadcast ID, never a processor's).
 */
#define ACPI_XAPIC_MAX_ID            254u

/* Who wrote the tables (the OEM and creator fields of 5.2.5.3 and 5.2.6). */
#define ACPI_GUEST_OEM_ID            "HVMON "    /* six bytes, space-padded */
#define ACPI_GUEST_OEM_TABLE_ID      "HVGUEST "  /* eight bytes, space-padded */
#define ACPI_GUEST_OEM_REVISION      1u
#define ACPI_GUEST_CREATOR_ID        "HVMN"      /* four bytes: the tool that built the tables */
#define ACPI_GUEST_CREATOR_REVISION  1u

/* The structures, packed as the specification lays them out (their offsets are checked below). */
struct __attribute__((packed)) acpi_rsdp {
	char signature[ACPI_RSDP_SIGNATURE_LEN];
	uint8_t checksum;
	char oem_id[ACPI_OEM_ID_LEN];
	uint8_t revision;
	uint32_t rsdt_address;
	uint32_t length;
	uint64_t xsdt_address;
	uint8_t extended_checksum;
	uint8_t reserved[3];
};

struct __attribute__((packed)) acpi_sdt_header {
	char signature[ACPI_SIG_LEN];
	uint32_t length;
	uint8_t revision;
	uint8_t checksum;
	char oem_id[ACPI_OEM_ID_LEN];
	char oem_table_id[ACPI_OEM_TABLE_ID_LEN];
	uint32_t oem_revision;
	char creator_id[ACPI_SIG_LEN];
	uint32_t creator_revision;
};

struct __attribute__((packed)) acpi_madt_fixed {
	struct acpi_sdt_header header;
	uint32_t lapic_address;
	uint32_t flags;
};

struct __attribute__((packed)) acpi_madt_local_apic {
	uint8_t type, length;
	uint8_t acpi_uid;
	uint8_t apic_id;
	uint32_t flags;
};

struct __attribute__((packed)) acpi_madt_local_x2apic {
	uint8_t type, length;
	uint16_t reserved;
	uint32_t x2apic_id;
	uint32_t flags;
	uint32_t acpi_uid;
};

_Static_assert(offsetof(struct acpi_rsdp, checksum) == ACPI_RSDP_OFF_CHECKSUM, "RSDP layout");
_Static_assert(offsetof(struct acpi_rsdp, oem_id) == ACPI_RSDP_OFF_OEM_ID, "RSDP layout");
_Static_assert(offsetof(struct acpi_rsdp, revision) == ACPI_RSDP_OFF_REVISION, "RSDP layout");
_Static_assert(offsetof(struct acpi_rsdp, rsdt_address) == ACPI_RSDP_OFF_RSDT, "RSDP layout");
_Static_assert(offsetof(struct acpi_rsdp, length) == ACPI_RSDP_OFF_LENGTH, "RSDP layout");
_Static_assert(offsetof(struct acpi_rsdp, xsdt_address) == ACPI_RSDP_OFF_XSDT, "RSDP layout");
_Static_assert(offsetof(struct acpi_rsdp, extended_checksum) == ACPI_RSDP_OFF_EXT_CHECKSUM, "RSDP layout");
_Static_assert(offsetof(struct acpi_rsdp, reserved) == ACPI_RSDP_OFF_RESERVED, "RSDP layout");
_Static_assert(sizeof(struct acpi_rsdp) == ACPI_RSDP_LENGTH, "RSDP layout");
_Static_assert(offsetof(struct acpi_sdt_header, length) == ACPI_SDT_OFF_LENGTH, "SDT header layout");
_Static_assert(offsetof(struct acpi_sdt_header, revision) == ACPI_SDT_OFF_REVISION, "SDT header layout");
_Static_assert(offsetof(struct acpi_sdt_header, checksum) == ACPI_SDT_OFF_CHECKSUM, "SDT header layout");
_Static_assert(offsetof(struct acpi_sdt_header, oem_id) == ACPI_SDT_OFF_OEM_ID, "SDT header layout");
_Static_assert(offsetof(struct acpi_sdt_header, oem_table_id) == ACPI_SDT_OFF_OEM_TABLE_ID, "SDT header layout");
_Static_assert(offsetof(struct acpi_sdt_header, oem_revision) == ACPI_SDT_OFF_OEM_REVISION, "SDT header layout");
_Static_assert(offsetof(struct acpi_sdt_header, creator_id) == ACPI_SDT_OFF_CREATOR_ID, "SDT header layout");
_Static_assert(offsetof(struct acpi_sdt_header, creator_revision) == ACPI_SDT_OFF_CREATOR_REV, "SDT header layout");
_Static_assert(sizeof(struct acpi_sdt_header) == ACPI_SDT_HEADER_LENGTH, "SDT header layout");
_Static_assert(ACPI_SDT_HEADER_LENGTH == ACPI_XSDT_OFF_ENTRIES, "XSDT layout");
_Static_assert(offsetof(struct acpi_madt_fixed, lapic_address) == ACPI_MADT_OFF_LAPIC_ADDRESS, "MADT layout");
_Static_assert(offsetof(struct acpi_madt_fixed, flags) == ACPI_MADT_OFF_FLAGS, "MADT layout");
_Static_assert(sizeof(struct acpi_madt_fixed) == ACPI_MADT_OFF_ENTRIES, "MADT layout");
_Static_assert(offsetof(struct acpi_madt_local_apic, length) == ACPI_LAPIC_OFF_LENGTH, "MADT local APIC layout");
_Static_assert(offsetof(struct acpi_madt_local_apic, acpi_uid) == ACPI_LAPIC_OFF_UID, "MADT local APIC layout");
_Static_assert(offsetof(struct acpi_madt_local_apic, apic_id) == ACPI_LAPIC_OFF_APIC_ID, "MADT local APIC layout");
_Static_assert(offsetof(struct acpi_madt_local_apic, flags) == ACPI_LAPIC_OFF_FLAGS, "MADT local APIC layout");
_Static_assert(sizeof(struct acpi_madt_local_apic) == ACPI_LAPIC_LENGTH, "MADT local APIC layout");
_Static_assert(offsetof(struct acpi_madt_local_x2apic, length) == ACPI_X2APIC_OFF_LENGTH, "MADT x2APIC layout");
_Static_assert(offsetof(struct acpi_madt_local_x2apic, reserved) == ACPI_X2APIC_OFF_RESERVED, "MADT x2APIC layout");
_Static_assert(offsetof(struct acpi_madt_local_x2apic, x2apic_id) == ACPI_X2APIC_OFF_X2APIC_ID, "MADT x2APIC layout");
_Static_assert(offsetof(struct acpi_madt_local_x2apic, flags) == ACPI_X2APIC_OFF_FLAGS, "MADT x2APIC layout");
_Static_assert(offsetof(struct acpi_madt_local_x2apic, acpi_uid) == ACPI_X2APIC_OFF_UID, "MADT x2APIC layout");
_Static_assert(sizeof(struct acpi_madt_local_x2apic) == ACPI_X2APIC_LENGTH, "MADT x2APIC layout");

/* Where acpi_tables_build put each table: byte offsets into the buffer, and lengths. */
struct acpi_tables_layout {
	uint32_t rsdp_off, rsdp_len;
	uint32_t xsdt_off, xsdt_len;
	uint32_t madt_off, madt_len;
	uint32_t total_len;      /* bytes of the buffer used, from offset 0 (the padding before the RSDP included) */
	unsigned lapic_entries;  /* Processor Local APIC structures (type 0) */
	unsigned x2apic_entries; /* Processor Local x2APIC structures (type 9) */
};

enum acpi_tables_status {
	ACPI_TABLES_OK = 0,
	ACPI_TABLES_NO_VCPUS = -1,  /* nr_vcpus is 0 */
	ACPI_TABLES_TOO_SMALL = -2, /* the buffer cannot hold the tables: acpi_tables_size() says what would */
	ACPI_TABLES_TOO_MANY = -3,  /* the MADT would pass the 4 GiB its 32-bit Length field can say */
};

/*
 * The bytes acpi_tables_build needs for `nr_vcpus` vCPUs with the buffer at guest-physical `gpa`
 * (the RSDP goes to the first 16-byte boundary at or after gpa); 0 for 0 vCPUs.
 */
uint64_t acpi_tables_size(uint64_t gpa, unsigned nr_vcpus);

/*
 * Write RSDP, XSDT and MADT into `buf` (`buf_size` bytes, which will be at guest-physical `gpa`) for
 * vCPUs 0..nr_vcpus-1 with APIC ID = ACPI processor UID = index, each Enabled.  The RSDP is at the
 * first 16-byte aligned guest-physical address in the buffer, the XSDT and MADT follow it 8-byte
 * aligned; the table addresses written are guest-physical (gpa + offset).  Bytes of the buffer
 * between the tables are zeroed, bytes after total_len are not touched.  Returns ACPI_TABLES_OK with
 * `out` filled, or an error with `out` and the buffer untouched.
 */
int acpi_tables_build(void *buf, size_t buf_size, uint64_t gpa, unsigned nr_vcpus, struct acpi_tables_layout *out);

#endif
