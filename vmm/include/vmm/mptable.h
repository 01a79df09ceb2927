/*
 * Finding the machine's CPUs in the Intel MultiProcessor Specification 1.4 tables, the legacy
 * BIOS's way when the firmware gives no ACPI MADT (MP spec 1.4: 4 where to search, 4.1 the MP
 * floating pointer structure, 4.2 the MP configuration table header, 4.3 its base entries,
 * 5 the default configurations).  Pure, like vmm/platform/acpi.c: every structure is read
 * through the bounded accessor of struct acpi_mem and checked (signature, length, checksum,
 * entries within the table) before a field of it is used, so a broken or hostile table gives a
 * reason, never a wild read (vmm/platform/mptable.c; tests/unit/test_mptable.c,
 * tests/fuzz/fuzz_mptable.c).
 */
#ifndef VMM_MPTABLE_H
#define VMM_MPTABLE_H

#include <stddef.h>
#include <stdint.h>
#include "vmm/acpi.h"

/*
 * Search the MP floating pointer structure ("_MP_") where MP spec 1.4 section 4 says, in its
 * order: the first KiB of the EBDA at `ebda_base` (0: unknown, not searched), the last KiB of base
 * memory below `base_mem_end` (0: unknown, 639-640 KiB is searched), then the BIOS ROM
 * 0xF0000-0xFFFFF.  A candidate with a bad checksum, length or revision is passed over (its
 * problem is the reason given when no good one follows).  Then list the CPUs of its MP
 * configuration table, or the two of a default configuration.
 *
 * Fills `out` as acpi_find_cpus does: count = enabled processors (CPU flags EN), cpu[i].apic_id,
 * cpu[i].acpi_uid = the index of its processor entry among the table's processor entries,
 * x2apic_entry false, lapic_base from the table header, pcat_compat = the IMCR is present (PIC
 * mode), revision = the floating pointer's SPEC_REV (1 or 4), used_xsdt false, online_capable 0.
 * The bootstrap processor (CPU flags BP) is cpu[0]; the others follow in table order.  Enabled
 * processors beyond ACPI_MAX_CPUS are counted in `dropped` (never the bootstrap processor).
 *
 * Returns 0 with `why` empty, except for a default configuration (no table; two CPUs with APIC
 * IDs 0 and 1, local APIC at 0xFEE00000), where `why` says so.  Returns -1 with `out` zeroed and
 * the reason in `why` ("MP floating pointer checksum is wrong (at 0xf5a40)", "MP configuration
 * table entry 3 has unknown type 9 ...", ...).
 */
int mptable_find_cpus(const struct acpi_mem *mem, uint64_t ebda_base, uint64_t base_mem_end, struct acpi_cpus *out,
		      char *why, size_t why_len);

#endif
