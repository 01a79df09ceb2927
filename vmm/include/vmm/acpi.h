/*
 * Finding the machine's CPUs in the ACPI tables the firmware left (ACPI 6.5: 5.2.5 RSDP, 5.2.7 RSDT,
 * 5.2.8 XSDT, 5.2.12 MADT).  Pure: every table is read through a bounded accessor and checked
 * (signature, length, checksum) before a field of it is used, so a broken or hostile table gives a
 * reason, never a wild read (vmm/platform/acpi.c; tests/unit/test_acpi.c, tests/fuzz/fuzz_acpi.c).
 */
#ifndef VMM_ACPI_H
#define VMM_ACPI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ACPI_MAX_CPUS 256

/*
 * Physical memory as the parser sees it: `len` bytes at physical address `pa`, or NULL when that
 * range is not readable (the monitor: its identity map of RAM; the tests: a buffer).
 */
struct acpi_mem {
	const void *(*map)(void *ctx, uint64_t pa, uint64_t len);
	void *ctx;
};

struct acpi_cpu {
	uint32_t apic_id;    /* local APIC ID (x2APIC ID from an x2APIC entry) */
	uint32_t acpi_uid;   /* the processor's ACPI UID */
	bool x2apic_entry;   /* from a Processor Local x2APIC structure (type 9) */
};

struct acpi_cpus {
	unsigned count;                /* usable CPUs (flags.Enabled) */
	unsigned online_capable;       /* present but disabled, could be brought online later (not used) */
	unsigned dropped;              /* usable CPUs beyond ACPI_MAX_CPUS */
	struct acpi_cpu cpu[ACPI_MAX_CPUS];
	uint64_t lapic_base;           /* physical address of the local APIC registers (MADT, or its override) */
	bool pcat_compat;              /* MADT flags: dual 8259 PICs present */
	unsigned revision;             /* RSDP revision: 0 (ACPI 1.0, RSDT) or 2+ (XSDT) */
	bool used_xsdt;
};

/*
 * Walk RSDP -> XSDT (or RSDT) -> MADT and list the CPUs.  Returns 0, or -1 with the reason in `why`
 * ("RSDP checksum is wrong", "no MADT (signature APIC) among the 5 tables of the XSDT", ...).
 */
int acpi_find_cpus(const struct acpi_mem *mem, uint64_t rsdp, struct acpi_cpus *out, char *why, size_t why_len);

#endif
