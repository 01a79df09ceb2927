"""The monitor's layout (issue 9): the dependency rules of docs/architecture.md hold, no header
include cycle exists, and nothing outside the VT-x backend (vmm/vmx/) touches the VMCS.

The rules are read from the two tables of docs/architecture.md, so the page and the test cannot
disagree.  Run: /usr/bin/python3 -m pytest -v tests/boot/test_layout.py
"""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VMM = ROOT / "vmm"
INCLUDE = VMM / "include"
DOC = ROOT / "docs" / "architecture.md"
BACKEND = VMM / "vmx"
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def table_rows(heading_cells):
    """Rows of the markdown table whose header row is `heading_cells`."""
    lines = DOC.read_text().splitlines()
    header = "| " + " | ".join(heading_cells) + " |"
    start = lines.index(header)
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def rules():
    """layer -> (directories, layers it may include)."""
    out = {}
    for layer, dirs, allowed in table_rows(["layer", "directories", "may include"]):
        out[layer] = ([d.strip("` ") for d in dirs.split(",")],
                      {a.strip() for a in allowed.split(",") if a.strip()})
    return out


def sources():
    return sorted(p for p in VMM.rglob("*") if p.suffix in (".c", ".h") and "libc" not in p.parts)


def layer_of_dir(path, rule):
    """The layer whose directory holds `path` (the longest matching directory)."""
    rel = path.parent.relative_to(ROOT).as_posix()
    best = None
    for layer, (dirs, _) in rule.items():
        for d in dirs:
            if rel == d and (best is None or len(d) > len(best[1])):
                best = (layer, d)
    return best[0] if best else None


def header_layers(rule):
    """Every header under vmm/include/vmm -> its layer."""
    explicit = {h.strip("`"): layer for h, layer in table_rows(["header", "layer"])}
    c_files = {}
    for p in VMM.rglob("*.c"):
        c_files.setdefault(p.stem, []).append(p)
    out = {}
    for h in (INCLUDE / "vmm").glob("*.h"):
        key = f"vmm/{h.name}"
        if key in explicit:
            out[key] = explicit[key]
        elif len(c_files.get(h.stem, [])) == 1:
            out[key] = layer_of_dir(c_files[h.stem][0], rule)
        else:
            out[key] = None
    return out


def resolve(src, name):
    for cand in (src.parent / name, INCLUDE / name):
        if cand.exists():
            return cand.resolve()
    return None


def test_the_rules_form_a_dag():
    rule = rules()
    for layer, (_, allowed) in rule.items():
        assert allowed <= set(rule), f"{layer} may include unknown layers {allowed - set(rule)}"
    seen, done = set(), set()

    def visit(layer, path):
        assert layer not in seen or layer in done, f"the layer rules have a cycle: {' -> '.join(path + [layer])}"
        if layer in done:
            return
        seen.add(layer)
        for dep in rule[layer][1]:
            visit(dep, path + [layer])
        done.add(layer)

    for layer in rule:
        visit(layer, [])


def test_every_source_and_header_has_a_layer():
    rule = rules()
    homeless = [p.relative_to(ROOT).as_posix() for p in sources()
                if p.suffix == ".c" and layer_of_dir(p, rule) is None]
    assert homeless == [], f"sources in no layer's directory (docs/architecture.md): {homeless}"
    unowned = [h for h, layer in header_layers(rule).items() if layer is None]
    assert unowned == [], f"headers with no layer: give each a .c of its name or a row in docs/architecture.md: {unowned}"


def test_includes_follow_the_layer_rules():
    rule = rules()
    owners = header_layers(rule)
    errors = []
    for src in sources():
        if src.suffix == ".h" and src.parent == INCLUDE / "vmm":
            mine = owners[f"vmm/{src.name}"]
        else:
            mine = layer_of_dir(src, rule)
        if mine is None:
            continue
        allowed = rule[mine][1] | {mine}
        for name in INCLUDE_RE.findall(src.read_text()):
            target = resolve(src, name)
            if target is None:
                continue
            if target.parent == (INCLUDE / "vmm").resolve():
                theirs = owners.get(f"vmm/{target.name}")
            else:
                theirs = layer_of_dir(target, rule)
            if theirs is not None and theirs not in allowed:
                errors.append(f"{src.relative_to(ROOT)} ({mine}) includes {name} ({theirs})")
    assert errors == [], "includes against docs/architecture.md:\n  " + "\n  ".join(errors)


def test_no_header_include_cycle():
    headers = [p for p in sources() if p.suffix == ".h"]
    graph = {}
    for h in headers:
        graph[h.resolve()] = [t for t in (resolve(h, n) for n in INCLUDE_RE.findall(h.read_text())) if t]
    state = {}

    def visit(node, path):
        if state.get(node) == "done":
            return
        assert state.get(node) != "open", \
            "include cycle: " + " -> ".join(p.relative_to(ROOT).as_posix() for p in path + [node])
        state[node] = "open"
        for nxt in graph.get(node, []):
            visit(nxt, path + [node])
        state[node] = "done"

    for h in graph:
        visit(h, [])


VMCS_USE = re.compile(r'\bvmcs_(read|write)\w*\s*\(|\bvm(read|write)\b|#\s*include\s+"(vmcs|vmcs_setup|vmx|vmx_backend|apicv|tlb)\.h"')


@pytest.mark.parametrize("suffix", [".c", ".h", ".asm"])
def test_only_the_backend_touches_the_vmcs(suffix):
    offenders = []
    for p in sorted(VMM.rglob(f"*{suffix}")):
        if BACKEND in p.parents:
            continue
        text = p.read_text()
        # Comments may name the backend's files; code may not use them.
        code = re.sub(r"/\*.*?\*/|//[^\n]*|;[^\n]*" if suffix == ".asm" else r"/\*.*?\*/|//[^\n]*", "", text, flags=re.S)
        if VMCS_USE.search(code):
            offenders.append(p.relative_to(ROOT).as_posix())
    assert offenders == [], f"VMCS access outside vmm/vmx/: {offenders}"


def test_the_backend_headers_are_private():
    public = sorted(h.name for h in (INCLUDE / "vmm").glob("*.h")
                    if h.name in {"vmcs.h", "vmcs_setup.h", "vmx.h", "apicv.h", "tlb.h", "vmx_backend.h"})
    assert public == [], f"VT-x backend headers in the public include directory: {public}"


# Mutable state that is the machine's, not one CPU's or one VM's: it stays global, shared under a
# lock where several CPUs may touch it.  Anything else mutable and global fails the test: per-CPU
# state belongs in struct pcpu (vmm/pcpu.h), per-VM state in struct vm (vmm/vmm.h) or struct vcpu.
MACHINE_STATE = {
    ("vmm/platform/cpu.c", "pcpus"): "the table of every CPU's struct pcpu",
    ("vmm/platform/cpu.c", "bsp_pcpu"): "the bootstrap processor's struct pcpu (needed before the frame allocator)",
    ("vmm/platform/delay.c", "tsc_hz"): "the machine's TSC frequency, measured once",
    ("vmm/platform/log.c", "current_level"): "the log level of the machine",
    ("vmm/platform/log.c", "console_lock"): "the consoles' lock",
    ("vmm/platform/serial.c", "serial_present"): "the machine's serial port",
    ("vmm/platform/serial.c", "serial_base"): "the machine's serial port",
    ("vmm/platform/screen.c", "screen"): "the machine's screen console",
    ("vmm/platform/screen.c", "screen_on"): "the machine's screen console",
    ("vmm/platform/screen.c", "screen_refused"): "the machine's screen console",
    ("vmm/main.c", "config"): "the monitor's command line",
    ("vmm/main.c", "hv_bootinfo"): "what the loader handed over (vmm/boot.h)",
    ("vmm/main.c", "machine_cpus"): "the machine's CPUs, from its ACPI tables",
    ("vmm/main.c", "early"): "the command line as parsed before the log is up",
    ("vmm/main.c", "pmm"): "the frame allocator (it has its own lock)",
    ("vmm/mmu/memory.c", "bits"): "the host CPU's MAXPHYADDR, read once",
    ("vmm/loader/guest_boot.c", "img"): "the loader's scratch space, used once before any vCPU runs",
    ("vmm/loader/guest_boot.c", "info"): "the loader's scratch space, used once before any vCPU runs",
    ("vmm/loader/guest_boot.c", "tables"): "the loader's scratch space, used once before any vCPU runs",
}
STATIC_VAR = re.compile(r"^(\s*)static\s+(?!const\b)(?!inline\b)[\w\s\*]*?\b(\w+)\s*(\[[^\]]*\])*\s*(=[^;]*)?;", re.M)
GLOBAL_VAR = re.compile(r"^(?!static|extern|typedef|const\b|struct\s+\w+\s*\{|enum|union|#|\s|/|\*|\})[\w\s\*]+?\b(\w+)\s*(\[[^\]]*\])*\s*(=[^;(]*)?;", re.M)


def test_no_per_cpu_or_per_vm_singleton():
    found = []
    for p in sorted(VMM.rglob("*.c")):
        rel = p.relative_to(ROOT).as_posix()
        code = re.sub(r"/\*.*?\*/|//[^\n]*", "", p.read_text(), flags=re.S)
        names = [m.group(2) for m in STATIC_VAR.finditer(code)]
        names += [m.group(1) for m in GLOBAL_VAR.finditer(code) if "(" not in m.group(0)]
        found += [(rel, n) for n in names if (rel, n) not in MACHINE_STATE]
    assert found == [], ("mutable globals that are not the machine's: move per-CPU state to struct pcpu, "
                         f"per-VM state to struct vm or struct vcpu: {found}")
