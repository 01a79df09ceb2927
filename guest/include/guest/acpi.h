/*
 * The CPUs of the machine, from the ACPI tables the loader points at: the Multiboot2 ACPI tag's
 * RSDP copy (tag 15, ACPI 2.0+, or tag 14, ACPI 1.0) -> XSDT (or RSDT) -> MADT (ACPI 6.5: 5.2.5
 * RSDP, 5.2.7 RSDT, 5.2.8 XSDT, 5.2.12 MADT).  Every table is checked before a field of it is
 * used: signature, length, checksum, and that it lies in the boot identity map (the low 4 GiB).
 */
#ifndef GUEST_ACPI_H
#define GUEST_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "guest/percpu.h"

struct acpi_cpu_list {
	unsigned count;                      /* enabled processors listed (at most GUEST_MAX_CPUS kept) */
	uint32_t apic_id[GUEST_MAX_CPUS];    /* in MADT order */
	bool x2apic_entry[GUEST_MAX_CPUS];   /* from a Processor Local x2APIC structure (type 9) */
	unsigned disabled;                   /* entries with Enabled clear (not started) */
	unsigned dropped;                    /* enabled processors beyond GUEST_MAX_CPUS */
	unsigned duplicates;                 /* an APIC ID listed twice (type 0 and type 9): the first kept */
	uint64_t lapic_base;                 /* the MADT's local APIC address (or its override) */
	unsigned rsdp_revision;
	bool used_xsdt;
	uint64_t root_pa, madt_pa;           /* where the XSDT/RSDT and the MADT lie */
	uint32_t root_len, madt_len;
};

/* Parses boot_config's RSDP copy and the tables it leads to: 0, or -1 with the reason in why. */
int acpi_find_cpus(struct acpi_cpu_list *out, char *why, size_t why_len);

#endif
