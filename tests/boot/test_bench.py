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
