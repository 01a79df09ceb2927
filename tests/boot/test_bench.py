"""The benchmark run in both memory modes: the side-by-side table and what it must show."""
import re
import subprocess

from conftest import ROOT


def test_side_by_side_ept_and_shadow():
    out = subprocess.run(["/usr/bin/python3", str(ROOT / "scripts" / "bench.py"), "--no-write"], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=900).stdout
    print(out)
    rows = {m.group(1): m.groups()[1:] for m in re.finditer(
        r"^\| (\w+) \| (\d+) \| (\d+) \| ([\d.]+) \| ([\d.]+) \|$", out, re.M)}
    for op in ("cpuid", "vmcall", "inb", "outb", "rdmsr", "wrmsr", "mov_cr4", "mov_cr3", "syscall", "page_fault"):
        assert op in rows, f"no row for {op}:\n{out}"
    ept_exits = {op: float(r[2]) for op, r in rows.items()}
    shadow_exits = {op: float(r[3]) for op, r in rows.items()}
    # Privileged operations exit once in both modes.
    for op in ("cpuid", "rdmsr", "wrmsr", "mov_cr4"):
        assert ept_exits[op] == 1.0 and shadow_exits[op] == 1.0, (op, rows[op])
    # System calls never exit.
    assert ept_exits["syscall"] == 0.0 and shadow_exits["syscall"] == 0.0
    # EPT: CR3 switches and page-table writes (demand fault + unmap) cause no exits; shadow paging pays for them.
    assert ept_exits["mov_cr3"] == 0.0 and shadow_exits["mov_cr3"] >= 1.0
    assert ept_exits["page_fault"] == 0.0 and shadow_exits["page_fault"] >= 1.0
    assert int(rows["page_fault"][1]) > int(rows["page_fault"][0]), "shadow page faults should cost more"
    # The whole-run tables: exits by reason in both columns, and the shadow memory used.
    assert re.search(r"^\| EXCEPTION_NMI \| 0 \| 0 \| [1-9]\d* \| \d+ \|$", out, re.M), "shadow #PF exits missing"
    assert re.search(r"^\| shadow page-table memory \(peak\) \| 0 KiB \| [1-9]\d* KiB \|$", out, re.M)
    total = re.search(r"^\| TSC cycles from VMLAUNCH to the end \| (\d+) \| (\d+) \|$", out, re.M)
    monitor = re.search(r"^\| monitor cycles \(all exits\) \| (\d+) \| (\d+) \|$", out, re.M)
    guest = re.search(r"^\| guest cycles \(the rest\) \| (\d+) \| (\d+) \|$", out, re.M)
    assert total and monitor and guest, out
    for col in (1, 2):
        t, m, g = int(total.group(col)), int(monitor.group(col)), int(guest.group(col))
        assert 0 < m < t and g == t - m
    # Shadow paging spends more in the monitor for the same workload.
    assert int(monitor.group(2)) > int(monitor.group(1))
    # Several CPUs (vcpus=1, 2, 4 on a 4-processor Bochs, both memory modes): the IPI round trip needs two,
    # and the split workloads ran on every vCPU: faster with each, the CPUID one still one exit per unit.
    smp = {m.group(1): m.group(2).split(" | ") for m in re.finditer(r"^\| (ipi_round_trip|par_cpuid|par_compute) \| (.*) \|$",
                                                                       out, re.M)}
    assert set(smp) == {"ipi_round_trip", "par_cpuid", "par_compute"}, out
    for base in (0, 3):  # EPT columns 0-2, shadow 3-5
        assert smp["ipi_round_trip"][base] == "-" and all(int(c) > 0 for c in smp["ipi_round_trip"][base + 1:base + 3])
        for op in ("par_cpuid", "par_compute"):
            one = int(smp[op][base])
            for col, n in ((base + 1, 2), (base + 2, 4)):
                cycles, speedup = re.fullmatch(r"(\d+) \(([\d.]+)x\)", smp[op][col]).groups()
                # Work split n ways takes at least a little over 1/n of the time on one vCPU, and well under 1/(n-1).
                assert one / n * 0.95 <= int(cycles) < one / (n - 1), (op, n, smp[op])
    exits = re.search(r"^\| exits/iter: ipi_round_trip, par_cpuid, par_compute \| (.*) \|$", out, re.M)
    assert exits, out
    for col, cell in enumerate(exits.group(1).split(" | ")):
        ipi, cpuid, compute = cell.split(" / ")
        assert cpuid == "1.00" and float(compute) < 0.01, (col, cell)
        assert (ipi == "-") == (col % 3 == 0) and (ipi == "-" or float(ipi) >= 3.0), (col, cell)
    # Each vCPU's share of the split workloads: one row per figure, one share per vCPU, the CPUID work one exit
    # per unit on every vCPU (16384 units each: the run that reached the budget).
    for op in ("par_cpuid", "par_compute"):
        for what in ("cycles", "exits"):
            row = re.search(rf"^\| {op}: {what} per vCPU \| (.*) \|$", out, re.M)
            assert row, (op, what, out)
            counts = [int(re.fullmatch(r"[\d-]+ ×(\d+)", c).group(1)) for c in row.group(1).split(" | ")]
            assert counts == [1, 2, 4, 1, 2, 4], (op, what, row.group(0))
    cpuid_exits = re.search(r"^\| par_cpuid: exits per vCPU \| (.*) \|$", out, re.M).group(1).split(" | ")
    assert all(re.fullmatch(r"[1-9]\d* ×\d", c) for c in cpuid_exits), cpuid_exits
