"""The build's check of the monitor image (scripts/check-monitor-elf.py): it accepts build/hv.elf and
refuses copies broken the ways that would stop the monitor from loading anywhere.  No boot; quick.

Run: /usr/bin/python3 -m pytest -v tests/boot/test_monitor_elf.py  (after 'make')
"""
import struct
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECK = ROOT / "scripts" / "check-monitor-elf.py"
MONITOR = ROOT / "build" / "hv.elf"

E_TYPE_OFFSET = 16
ET_EXEC = 2
PT_DYNAMIC = 2
DT_NULL, DT_RELA, DT_RELASZ = 0, 7, 8
RELA_SIZE, DYN_SIZE = 24, 16
R_X86_64_64 = 1
MB2_HEADER_MAGIC = 0xE85250D6
MB2_TAG_RELOCATABLE = 10


def check(path):
    return subprocess.run(["/usr/bin/python3", str(CHECK), str(path)], capture_output=True, text=True)


def image():
    if not MONITOR.exists():
        pytest.fail("build/hv.elf is missing: run 'make' first")
    return bytearray(MONITOR.read_bytes())


def program_headers(data):
    e_phoff, = struct.unpack_from("<Q", data, 32)
    e_phentsize, e_phnum = struct.unpack_from("<HH", data, 54)
    return [struct.unpack_from("<IIQQQQQQ", data, e_phoff + i * e_phentsize) for i in range(e_phnum)]


def first_rela_offset(data):
    """The file offset of the first RELA entry (through PT_DYNAMIC's DT_RELA)."""
    phdrs = program_headers(data)
    delta = next(p[2] - p[3] for p in phdrs if p[0] == 1)
    dyn = next(p for p in phdrs if p[0] == PT_DYNAMIC)
    for i in range(dyn[5] // DYN_SIZE):
        tag, val = struct.unpack_from("<qQ", data, dyn[2] + i * DYN_SIZE)
        if tag == DT_RELA:
            return val + delta
        assert tag != DT_NULL
    raise AssertionError("no DT_RELA")


def test_accepts_the_built_monitor():
    r = check(MONITOR)
    assert r.returncode == 0, r.stderr
    assert "R_X86_64_RELATIVE relocations" in r.stdout


def test_refuses_an_exec_image(tmp_path):
    data = image()
    struct.pack_into("<H", data, E_TYPE_OFFSET, ET_EXEC)
    (tmp_path / "exec.elf").write_bytes(data)
    r = check(tmp_path / "exec.elf")
    assert r.returncode == 1 and "not ET_DYN" in r.stderr and "rebuild with 'make'" in r.stderr


def test_refuses_a_relocation_other_than_relative(tmp_path):
    data = image()
    off = first_rela_offset(data)
    r_offset, _, addend = struct.unpack_from("<QQq", data, off)
    struct.pack_into("<QQq", data, off, r_offset, (1 << 32) | R_X86_64_64, addend)
    (tmp_path / "abs.elf").write_bytes(data)
    r = check(tmp_path / "abs.elf")
    assert r.returncode == 1 and "only R_X86_64_RELATIVE" in r.stderr


def test_refuses_a_header_without_the_relocatable_tag(tmp_path):
    data = image()
    hdr = data.find(struct.pack("<I", MB2_HEADER_MAGIC))
    tag = data.find(struct.pack("<HH", MB2_TAG_RELOCATABLE, 0), hdr)
    assert hdr >= 0 and tag > hdr
    struct.pack_into("<H", data, tag, 0xffff)   # an unknown tag type in its place
    (tmp_path / "norel.elf").write_bytes(data)
    r = check(tmp_path / "norel.elf")
    assert r.returncode == 1 and "relocatable tag" in r.stderr
