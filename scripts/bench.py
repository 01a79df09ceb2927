#!/usr/bin/python3
"""'make bench': run the guest's benchmarks in Bochs under EPT and under shadow paging, each with
APIC virtualization on (apicv=1, the default) and off (apicv=0: only the interrupt figures are kept),
and the benchmarks of several CPUs (guest.bench=smp) on a 4-CPU Bochs with vcpus=1, 2 and 4.

Bochs with `clock: sync=none` counts one TSC tick per instruction, so every figure is an
exact, repeatable cost.  Prints the tables and writes them to docs/benchmarks.md.

    scripts/bench.py [--cpu MODEL] [--no-write]
"""
import argparse
import concurrent.futures
import datetime
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODES = ("ept", "shadow")
APICV = ("1", "0")
INTERRUPT_BENCHES = ("apic_eoi", "apic_tpr", "mov_cr8", "timer_irq")
SMP_CPUS = 4                 # Bochs processors of the SMP runs
SMP_VCPUS = (1, 2, 4)        # the guest's vCPUs in them
SMP_BENCHES = ("ipi_round_trip", "par_cpuid", "par_compute")

BENCH_RE = re.compile(r"BENCH: (\S+) (\d+) (\d+) (\d+)")
BENCH_CPU_RE = re.compile(r"BENCH_CPU: (\S+) (\d+) (\d+) (\d+) (\d+)")  # name cpu units cycles exits
STAT_RE = re.compile(r"^\[hv\]\s{3}([A-Z_]+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$")
TOTAL_RE = re.compile(r"VM-exit statistics \((\d+) exits, (\d+) TSC cycles")
SHADOW_MEM_RE = re.compile(r"memory (\d+) KiB now, (\d+) KiB peak")
SHADOW_FILLS_RE = re.compile(r"shadow paging: (\d+) fills, (\d+) guest faults reflected, (\d+) CR3 switches")
STATUS_RE = re.compile(r"HV-EXIT status=(\d+)")
# What apicv=1 got (vmm/vmx/apicv.c logs it): full APIC virtualization, the TPR shadow alone, or none.
APICV_LEVELS = (("full", "virtual-interrupt delivery while the guest is in x2APIC mode"),
                ("TPR shadow", "APIC virtualization: TPR shadow and x2APIC virtualization while"))


def run(mode, cpu, log, apicv="1", vcpus=None):
    smp = ["--smp", str(SMP_CPUS)] if vcpus else []
    args = [f"vcpus={vcpus}", "guest.bench=smp"] if vcpus else ["guest.bench=1"]
    cmd = [str(ROOT / "scripts" / "run-bochs.sh"), "--cpu", cpu, "--timeout", "600", "--log", str(log), *smp,
           "--", "log=info", f"mem={mode}", f"apicv={apicv}", *args]
    print("bench: " + " ".join(cmd[1:]), file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace")
    out = proc.stdout
    status = STATUS_RE.findall(out)
    if proc.returncode != 0 or not status or status[-1] != "0":
        sys.exit(f"bench: the {mode} run failed (exit {proc.returncode}); serial log: {log}\n{out[-3000:]}")
    result = {"bench": {}, "per_cpu": {}, "exits": {}, "total_exits": 0, "cycles": 0, "shadow_kib": None, "shadow": None,
              "apicv": next((name for name, line in APICV_LEVELS if line in out), "software")}
    for name, cycles, iters, exits in BENCH_RE.findall(out):
        result["bench"][name] = (int(cycles), int(iters), int(exits))
    for name, cpu, units, cycles, exits in BENCH_CPU_RE.findall(out):
        result["per_cpu"].setdefault(name, {})[int(cpu)] = (int(units), int(cycles), int(exits))
    for line in out.splitlines():
        m = STAT_RE.match(line)
        if m:
            result["exits"][m.group(1)] = (int(m.group(2)), int(m.group(3)))
    m = TOTAL_RE.search(out)
    if m:
        result["total_exits"], result["cycles"] = int(m.group(1)), int(m.group(2))
    m = SHADOW_MEM_RE.search(out)
    if m:
        result["shadow_kib"] = int(m.group(2))
    m = SHADOW_FILLS_RE.search(out)
    if m:
        result["shadow"] = tuple(int(x) for x in m.groups())
    if not result["bench"]:
        sys.exit(f"bench: the {mode} run printed no BENCH lines; serial log: {log}")
    return result


def interrupt_table(res, res_off):
    """The interrupt benchmarks with APIC virtualization on and off, in both memory modes."""
    runs = {(m, "1"): res[m] for m in MODES}
    runs.update({(m, "0"): res_off[m] for m in MODES})
    lines = ["### Interrupts: APIC virtualization on (`apicv=1`) and off (`apicv=0`)\n",
             "`apic_eoi`: cycles of one EOI. `apic_tpr`, `mov_cr8`: a TPR raise and lower through the x2APIC "
             "MSR, and through CR8. `timer_irq`: cycles from the TSC deadline to the handler's first "
             "instruction; its exits per iteration are those of one tick (the deadline WRMSR, the "
             "preemption-timer exit, the EOI). Each column says what `apicv` got there: full APIC "
             "virtualization (virtual-interrupt delivery, EPT only), the TPR shadow alone, or the software path.\n",
             "| operation | " + " | ".join(f"{m.upper() if m == 'ept' else m} apicv={a} ({runs[(m, a)]['apicv']}) cycles"
                                          for m in MODES for a in APICV)
             + " | " + " | ".join(f"{m.upper() if m == 'ept' else m} apicv={a} exits/iter" for m in MODES for a in APICV) + " |",
             "|---|" + "---:|" * (4 * len(MODES))]
    for n in INTERRUPT_BENCHES:
        cells = [runs[(m, a)]["bench"].get(n) for m in MODES for a in APICV]
        lines.append(f"| {n} | " + " | ".join(str(c[0]) if c else "-" for c in cells) + " | "
                     + " | ".join(f"{c[2] / c[1]:.2f}" if c else "-" for c in cells) + " |")
    lines.append("")
    return "\n".join(lines)


def smp_table(res_smp):
    """The benchmarks of several CPUs: vcpus=1, 2, 4 on a 4-CPU machine, in both memory modes."""
    cols = [(m, n) for m in MODES for n in SMP_VCPUS]
    head = " | ".join(f"{m.upper() if m == 'ept' else m} vcpus={n}" for m, n in cols)
    lines = [f"### Several CPUs: Bochs with {SMP_CPUS} processors, the guest given `vcpus=1`, `2`, `{SMP_CPUS}`\n",
             "`ipi_round_trip`: cycles from the ICR write of a fixed IPI to an idle AP (in HLT) until the "
             "interrupt it sends back reaches the sender's handler; its exits are both vCPUs': the two ICR writes (WRMSR), the two deliveries (the monitor's kick of the target's CPU, an external-interrupt exit), the AP's HLT once it is done, and under shadow paging the two EOIs (`apicv` gives only the TPR shadow there). `par_cpuid`, "
             "`par_compute`: one workload (CPUIDs, each an exit; native xorshift rounds, no exit) split evenly "
             "across every online CPU, in cycles of the sender's TSC per unit of work from posting the shares to "
             "the last one's end; in parentheses the speed-up over `vcpus=1`. Their rows \"per vCPU\" give each vCPU's share of the measured run (least-most, × how many vCPUs): its own TSC cycles (under Bochs, the instructions the guest and the monitor executed on that CPU) and its exits; with more than one vCPU the monitor's 50 ms preemption-timer backstop (it catches a lost kick) adds its exits to the native work's. The monitor handles each vCPU's "
             "exits on that vCPU's own CPU, with no lock shared on the exit path, so exits scale like native work.\n",
             "| operation | " + head + " |", "|---|" + "---:|" * len(cols)]
    for name in SMP_BENCHES:
        cells = []
        for m, n in cols:
            r = res_smp[(m, n)]["bench"].get(name)
            base = res_smp[(m, SMP_VCPUS[0])]["bench"].get(name)
            if not r:
                cells.append("-")
            elif name.startswith("par_") and base and n != SMP_VCPUS[0]:
                cells.append(f"{r[0]} ({base[0] / r[0]:.2f}x)")
            else:
                cells.append(str(r[0]))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    def span(values):
        lo, hi = min(values), max(values)
        return f"{lo}" if lo == hi else f"{lo}-{hi}"
    for name in SMP_BENCHES:
        if not any(name in res_smp[c]["per_cpu"] for c in cols):
            continue
        for what, idx in (("cycles", 1), ("exits", 2)):
            cells = []
            for c in cols:
                shares = res_smp[c]["per_cpu"].get(name, {})
                cells.append(f"{span([v[idx] for v in shares.values()])} ×{len(shares)}" if shares else "-")
            lines.append(f"| {name}: {what} per vCPU | " + " | ".join(cells) + " |")
    lines.append("| exits/iter: " + ", ".join(SMP_BENCHES) + " | " + " | ".join(
        " / ".join(f"{r[2] / r[1]:.2f}" if r else "-" for r in (res_smp[c]["bench"].get(b) for b in SMP_BENCHES))
        for c in cols) + " |")
    lines.append("")
    return "\n".join(lines)


def tables(res, cpu):
    lines = []
    names = list(dict.fromkeys(n for mode in MODES for n in res[mode]["bench"] if n not in SMP_BENCHES))
    lines.append(f"### Cycles per operation (Bochs `{cpu}`, guest `rdtsc`, exact instruction counts)\n")
    lines.append("| operation | EPT cycles | shadow cycles | EPT exits/iter | shadow exits/iter |")
    lines.append("|---|---:|---:|---:|---:|")

    def per_iter(r):
        return f"{r[2] / r[1]:.2f}" if r else "-"
    for n in names:
        e = res["ept"]["bench"].get(n)
        s = res["shadow"]["bench"].get(n)
        lines.append(f"| {n} | {e[0] if e else '-'} | {s[0] if s else '-'} | {per_iter(e)} | {per_iter(s)} |")
    lines.append("")
    lines.append("### VM exits of the whole benchmark run, by reason\n")
    lines.append("| exit reason | EPT exits | EPT monitor cycles | shadow exits | shadow monitor cycles |")
    lines.append("|---|---:|---:|---:|---:|")
    reasons = sorted(set(res["ept"]["exits"]) | set(res["shadow"]["exits"]))
    for r in reasons:
        e = res["ept"]["exits"].get(r, (0, 0))
        s = res["shadow"]["exits"].get(r, (0, 0))
        lines.append(f"| {r} | {e[0]} | {e[1]} | {s[0]} | {s[1]} |")
    lines.append(f"| **total** | {res['ept']['total_exits']} | | {res['shadow']['total_exits']} | |")
    lines.append("")
    lines.append("### Whole run\n")
    lines.append("| | EPT | shadow |")
    lines.append("|---|---:|---:|")
    lines.append(f"| TSC cycles from VMLAUNCH to the end | {res['ept']['cycles']} | {res['shadow']['cycles']} |")
    monitor = {m: sum(c for _, c in res[m]["exits"].values()) for m in MODES}
    lines.append(f"| monitor cycles (all exits) | {monitor['ept']} | {monitor['shadow']} |")
    lines.append(f"| guest cycles (the rest) | {res['ept']['cycles'] - monitor['ept']} | "
                 f"{res['shadow']['cycles'] - monitor['shadow']} |")
    sk = res["shadow"]["shadow_kib"]
    lines.append(f"| shadow page-table memory (peak) | 0 KiB | {sk if sk is not None else '-'} KiB |")
    if res["shadow"]["shadow"]:
        fills, reflected, switches = res["shadow"]["shadow"]
        lines.append(f"| shadow fills / reflected guest faults / CR3 switches | - | {fills} / {reflected} / {switches} |")
    lines.append("")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cpu", default="tigerlake")
    ap.add_argument("--no-write", action="store_true", help="print only, do not update docs/benchmarks.md")
    args = ap.parse_args()
    (ROOT / "build").mkdir(exist_ok=True)
    build = ROOT / "build"
    # Bochs with clock sync=none counts instructions, so the runs may share the host's cores.
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        jobs = {("on", m): pool.submit(run, m, args.cpu, build / f"bench-{m}.log") for m in MODES}
        jobs.update({("off", m): pool.submit(run, m, args.cpu, build / f"bench-{m}-apicv0.log", "0") for m in MODES})
        jobs.update({("smp", m, n): pool.submit(run, m, args.cpu, build / f"bench-{m}-vcpus{n}.log", "1", n)
                     for m in MODES for n in SMP_VCPUS})
        done = {k: j.result() for k, j in jobs.items()}
    res = {m: done[("on", m)] for m in MODES}
    res_off = {m: done[("off", m)] for m in MODES}
    res_smp = {(m, n): done[("smp", m, n)] for m in MODES for n in SMP_VCPUS}
    text = tables(res, args.cpu) + "\n" + interrupt_table(res, res_off) + "\n" + smp_table(res_smp)
    print(text)
    if not args.no_write:
        doc = ROOT / "docs" / "benchmarks.md"
        doc.parent.mkdir(exist_ok=True)
        doc.write_text(
            "# Benchmarks\n\n"
            "Produced by `make bench` (`scripts/bench.py`) on "
            f"{datetime.date.today().isoformat()}: the guest's bench mode (`guest.bench=1`) booted in Bochs "
            f"2.7, model `{args.cpu}`, with `clock: sync=none`, once with `mem=ept` and once with `mem=shadow` "
            "(and both again with `apicv=0` for the interrupt table), and `guest.bench=smp` on a "
            f"{SMP_CPUS}-processor Bochs with `vcpus=1`, `2` and `{SMP_CPUS}` for the table of several CPUs.\n"
            "Bochs' TSC then advances one tick per emulated instruction (guest and monitor alike), so the figures are exact and repeatable "
            "instruction counts of the emulated machine, not wall-clock times of real hardware: they compare "
            "paths (how many instructions a VM exit, a system call or a page fault costs in each mode), "
            "and they do not predict microseconds on a real CPU.\n\n"
            "Method (kvm-unit-tests `vmexit`): each operation runs in a loop whose iteration count doubles "
            "until a cycle budget is reached; the table gives cycles per iteration, and the exits the "
            "measured run caused per iteration.\n\n"
            "Reading the tables: with EPT, CR3 switches and the guest's page-table writes (a demand fault "
            "maps a page, the unmap clears it) cause no exit at all. With shadow paging, a MOV to CR3 exits "
            "and revalidates the cached shadow root against the guest's tables (one guest walk per present "
            "shadow entry, the price of keeping x86 TLB semantics). A guest page fault takes three exits: "
            "the #PF reflected into the guest, the shadow fill after the guest mapped the page, and the "
            "INVLPG of the unmap.\n\n" + text)
        print(f"bench: wrote {doc.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
