"""Boot tests of the guest kernel's own suite under the monitor (issues: guest kernel, shadow paging)."""
import re

import pytest

from conftest import STATUS

# Every CPU model runs the same suite: each test prints PASS, FAIL or SKIP (issue 12: the count
# changed with the model without a SKIP line).  Update this when the suite gains or loses a test.
SUITE_SIZE = 126

# Exit reasons the guest's privileged operations must have produced, as the monitor counts them.
EXPECTED_EXITS = ["CPUID", "RDMSR", "WRMSR", "IO_INSTRUCTION", "CR_ACCESS", "GDTR_IDTR_ACCESS",
                  "LDTR_TR_ACCESS", "HLT", "VMCALL", "WBINVD", "XSETBV"]

# The SMP tests skip with one CPU, as these runs have; tests/boot/test_cpus.py runs them with 2 and 4.
# (smp_sipi_to_absent_cpu runs with one CPU too: it must pass here.)
SMP_TESTS = {"smp_all_online", "smp_ap_exits_accounted", "smp_ipi_ping_pong", "smp_nmi_ipi", "smp_spinlock_counter",
             "smp_tlb_shootdown", "smp_apic_timer_every_cpu", "smp_init_restarts_a_running_cpu",
             "smp_spinner_does_not_block", "smp_user_programs_spread"}

# The only guest tests a CPU model may skip, and why: a skipped exit test must not pass unnoticed.
ALLOWED_SKIPS = {
    "tigerlake": set(),
    # no AVX-512, no SMAP
    "corei7_haswell_4770": {"xsetbv_partial_avx512_gp", "smap_kernel_read_faults", "wp0_write_keeps_smap",
                            "wp0_write_keeps_smep"},
    # no AVX-512, no SMEP, no SMAP (and no 1 GiB pages)
    "corei7_sandy_bridge_2600k": {"xsetbv_partial_avx512_gp", "smep_kernel_fetch_faults", "smap_kernel_read_faults",
                                  "wp0_write_keeps_smap", "wp0_write_keeps_smep"},
}
ALLOWED_SKIPS = {cpu: skips | SMP_TESTS for cpu, skips in ALLOWED_SKIPS.items()}
# Models without 1 GiB pages (CPUID.80000001h:EDX[26] = 0): PS in a PDPTE must fault there.
NO_1G_PAGES = {"corei7_sandy_bridge_2600k"}
SUITE_CPUS = ["tigerlake", "corei7_haswell_4770", "corei7_sandy_bridge_2600k"]

# The I/O ports the suite reaches that no device of the monitor claims (the statistics list them),
# all on purpose (guest/tests_emul.c, test_string_io): a 5000-byte REP INSB from 0x300 and the high
# byte of a 2-byte IN at the PIC's 0x21.  Any other port is a guest probe the monitor does not model.
UNCLAIMED_LINE = re.compile(r"^\[hv\]\s+unclaimed I/O port (0x[0-9a-f]+): (\d+) reads, (\d+) writes\r?$", re.M)
SUITE_UNCLAIMED_PORTS = {0x300: (5000, 0), 0x22: (1, 0)}


def assert_suite_unclaimed_ports(log):
    ports = {int(p, 16): (int(r), int(w)) for p, r, w in UNCLAIMED_LINE.findall(log)}
    assert ports == SUITE_UNCLAIMED_PORTS, f"unclaimed I/O ports of the suite: {ports}"


def run_suite(bochs, cmdline, cpu="tigerlake"):
    b = bochs(cmdline, cpu=cpu)
    b.expect(r"guest installed its IDT at 0x[0-9a-f]+")
    b.expect(r"guest installed its SYSCALL entry point at 0x[0-9a-f]+")
    m = b.expect(r"\[guest\] SUMMARY: (\d+) tests, (\d+) failures")
    tests, failures = int(m.group(1)), int(m.group(2))
    b.expect(r"VM-exit statistics \((\d+) exits")
    status, log = b.finish()
    passes = re.findall(r"\[guest\] PASS: (.+)", log)
    fails = re.findall(r"\[guest\] FAIL: (.+)", log)
    skips = set(re.findall(r"\[guest\] SKIP: (\S+)", log))
    exits = dict(re.findall(r"^\[hv\]\s{3}([A-Z_]+)\s+(\d+)\s+\d+\s+\d+\s*$", log, re.M))
    return tests, failures, status, passes, fails, exits, log, skips


def assert_suite_passed(tests, failures, status, passes, fails, exits, skips, cpu):
    assert fails == [] and failures == 0, f"guest failures: {fails}"
    assert len(passes) == tests
    assert tests + len(skips) == SUITE_SIZE, \
        f"{tests} tests and {len(skips)} skipped on {cpu}: the suite has {SUITE_SIZE}, so a test printed no line"
    assert status == 0
    assert skips <= ALLOWED_SKIPS[cpu], f"tests skipped on {cpu}: {sorted(skips - ALLOWED_SKIPS[cpu])}"
    for reason in EXPECTED_EXITS:
        assert int(exits.get(reason, 0)) > 0, f"no {reason} exit counted: {exits}"


def assert_page_size_test_ran(passes, cpu):
    expected = "pdpte_ps_without_1g_pages_rsvd_fault" if cpu in NO_1G_PAGES else "pdpte_ps_maps_1g_page"
    assert expected in passes, f"{expected} did not pass on {cpu}"


@pytest.mark.parametrize("cpu", SUITE_CPUS)
def test_guest_suite_passes_under_ept(bochs, cpu):
    tests, failures, status, passes, fails, exits, log, skips = run_suite(bochs, "log=info mem=ept", cpu)
    assert_suite_passed(tests, failures, status, passes, fails, exits, skips, cpu)
    assert_page_size_test_ran(passes, cpu)
    assert_suite_unclaimed_ports(log)


@pytest.mark.parametrize("cpu", SUITE_CPUS)
def test_guest_suite_passes_unchanged_under_shadow_paging(bochs, cpu):
    tests, failures, status, passes, fails, exits, log, skips = run_suite(bochs, "log=info mem=shadow", cpu)
    assert_suite_passed(tests, failures, status, passes, fails, exits, skips, cpu)
    assert_page_size_test_ran(passes, cpu)
    assert_suite_unclaimed_ports(log)
    assert re.search(r"shadow paging: [1-9]\d* fills", log)
    assert int(exits.get("EXCEPTION_NMI", 0)) > 0, "shadow mode must take #PF exits"
    if "wp0_write_keeps_smap" in passes:  # the CR0.WP=0 writes ended by a single-step, not left open
        assert re.search(r"[1-9]\d* single-stepped CR0.WP=0 writes", log)


def test_suite_notices_a_missing_exit(bochs):
    tests, failures, status, _, fails, _, _, _ = run_suite(bochs, "log=info break=no_hlt_exiting")
    assert failures > 0 and status != 0
    assert any("hlt" in f.lower() for f in fails), fails


def test_suite_notices_exits_during_system_calls(bochs):
    tests, failures, status, _, fails, _, _, _ = run_suite(bochs, "log=info break=exit_storm")
    assert failures > 0 and status != 0
    assert any("syscall" in f.lower() or "system call" in f.lower() for f in fails), fails


def test_guest_touching_memory_it_does_not_have_is_stopped(bochs):
    b = bochs("log=info guest.test=ept_violation")
    b.expect(r"EPT violation: guest (read|write) at guest-physical 0x[0-9a-f]+")
    b.expect(r"guest stopped on an EPT violation")
    status, _ = b.finish()
    assert status == STATUS["HV_ERR_EPT_VIOLATION"]


def test_shadow_paging_keeps_memory_outside_guest_ram_unreachable(bochs):
    """The same access under shadow paging: the guest's mapping of it is never shadowed."""
    b = bochs("log=info mem=shadow guest.test=ept_violation")
    b.expect(r"shadow: guest-virtual 0x[0-9a-f]+ maps guest-physical (0x[0-9a-f]+), outside its RAM")
    b.expect(r"guest touched memory it does not have")
    status, _ = b.finish()
    assert status == STATUS["HV_ERR_EPT_VIOLATION"]


WATCHDOG_LINE = r"guest watchdog: 20 million TSC cycles passed without progress from the guest"


def test_spinning_guest_is_stopped_by_the_watchdog(bochs):
    """A guest spinning without a single exit."""
    b = bochs("log=info watchdog=20 guest.test=spin")
    b.expect(WATCHDOG_LINE)
    status, _ = b.finish()
    assert status == STATUS["HV_ERR_WATCHDOG"]


def test_guest_spinning_on_exits_is_stopped_by_the_watchdog(bochs):
    """A silent guest that exits all the time (CPUID): the timer counts its time across exits."""
    b = bochs("log=info watchdog=20 guest.test=spin_exits")
    b.expect(WATCHDOG_LINE)
    status, out = b.finish()
    assert status == STATUS["HV_ERR_WATCHDOG"]
    cpuid_exits = re.search(r"^\[hv\]\s+CPUID\s+(\d+)", out, re.M)
    assert cpuid_exits and int(cpuid_exits.group(1)) > 1000, "the guest did not spin on CPUID exits"


@pytest.mark.parametrize("mem", ["ept", "shadow"])
def test_guest_triple_fault_is_reported(bochs, mem):
    """A guest whose exceptions cannot be delivered shuts down: the monitor says so and stops it."""
    b = bochs(f"log=info mem={mem} guest.test=triple_fault")
    b.expect(r"guest triple fault: an exception occurred while delivering a double fault")
    b.expect(r"exit reason 2 \(TRIPLE_FAULT\)")
    b.expect(r"VM-exit statistics")
    status, _ = b.finish()
    assert status == STATUS["HV_ERR_TRIPLE_FAULT"]
