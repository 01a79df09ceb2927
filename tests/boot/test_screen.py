"""The monitor's screen console (vmm/platform/fbcon.c, screen.c): its log on the framebuffer, read back from QEMU.

scripts/run-qemu.sh --screendump gives the machine a display (-vga std) and, once the monitor has
halted after its verdict, writes the screen as a PPM.  QEMU TCG has no VT-x, so the monitor ends
with "no VT-x" (status 70): these tests render the expected lines with the same PSF font the
monitor was built with (Makefile FONT_PSF, read by scripts/psf.py) and the console's palette
(vmm/platform/fbcon.c), and look for them pixel for pixel on the screen's text rows.

Run: /usr/bin/python3 -m pytest -v tests/boot/test_screen.py  (after 'make')
"""
import re
import sys
from pathlib import Path

import pytest

from test_qemu import BUILD, ROOT, QemuRun, hv_status

sys.path.insert(0, str(ROOT / "scripts"))
import psf  # noqa: E402

FBCON_C = ROOT / "vmm" / "platform" / "fbcon.c"
FBCON_H = ROOT / "vmm" / "include" / "vmm" / "fbcon.h"
MAKEFILE = ROOT / "Makefile"
BYTES_PER_RGB = 3


def _font():
    m = re.search(r"^FONT_PSF\s*:=\s*(\S+)", MAKEFILE.read_text(), re.M)
    assert m, "no FONT_PSF in the Makefile"
    return psf.load(m.group(1))


def _palette():
    """fbcon_palette[] from vmm/platform/fbcon.c: colour name -> (r, g, b) bytes."""
    text = FBCON_C.read_text()
    pal = {name: bytes(int(v, 16) for v in (r, g, b)) for name, r, g, b in
           re.findall(r"\[(FBCON_\w+)\]\s*=\s*\{\s*(0x\w+),\s*(0x\w+),\s*(0x\w+)\s*\}", text)}
    m = re.search(r"fbcon_background\s*=\s*\{\s*(\w+),\s*(\w+),\s*(\w+)\s*\}", text)
    pal["background"] = bytes(int(v, 0) for v in m.groups())
    return pal


def _limit(name):
    return int(re.search(rf"#define {name}\s+(\d+)", FBCON_H.read_text()).group(1))


class Screen:
    def __init__(self, path):
        data = Path(path).read_bytes()
        m = re.match(rb"P6\s+(\d+)\s+(\d+)\s+(\d+)\s", data)
        assert m, f"{path} is not a binary PPM"
        self.width, self.height = int(m.group(1)), int(m.group(2))
        self.pixels = data[m.end():]
        assert len(self.pixels) >= self.width * self.height * BYTES_PER_RGB
        self.font = _font()
        self.palette = _palette()
        # fbcon_init: the smallest scale that fits FBCON_MAX_COLS x FBCON_MAX_ROWS cells
        self.scale = 1
        while (self.width // (self.font.width * self.scale) > _limit("FBCON_MAX_COLS") or
               self.height // (self.font.height * self.scale) > _limit("FBCON_MAX_ROWS")):
            self.scale += 1
        self.cell_w, self.cell_h = self.font.width * self.scale, self.font.height * self.scale
        self.cols, self.rows = self.width // self.cell_w, self.height // self.cell_h

    def render(self, text, colour):
        """The pixel rows (RGB bytes) of `text` drawn from column 0 in `colour`."""
        fg, bg = self.palette[colour], self.palette["background"]
        glyphs = [self.font.rows(ord(ch)) for ch in text]
        out = []
        for gy in range(self.font.height):
            row = bytearray()
            for g in glyphs:
                for gx in range(self.font.width):
                    on = (g[gy] >> (self.font.width - 1 - gx)) & 1
                    row += (fg if on else bg) * self.scale
            out += [bytes(row)] * self.scale
        return out

    def rows_showing(self, text, colour):
        """The text rows whose first len(text) cells show exactly `text` in `colour`."""
        text = text[:self.cols]
        want = self.render(text, colour)
        found = []
        for r in range(self.rows):
            y0 = r * self.cell_h
            if all(self.pixels[(y0 + i) * self.width * BYTES_PER_RGB:][:len(line)] == line
                   for i, line in enumerate(want)):
                found.append(r)
        return found

    def last_text_row(self):
        """The lowest text row with any non-background pixel."""
        bg = self.palette["background"]
        last = -1
        for r in range(self.rows):
            start = r * self.cell_h * self.width * BYTES_PER_RGB
            block = self.pixels[start:start + self.cell_h * self.width * BYTES_PER_RGB]
            if block != bg * (len(block) // BYTES_PER_RGB):
                last = r
        return last


def serial_line(log, prefix):
    for line in Path(log).read_text(errors="replace").splitlines():
        line = line.rstrip("\r")
        if line.startswith(prefix):
            return line
    pytest.fail(f"no serial line starting with {prefix!r} in {log}")


@pytest.fixture
def screendump_run(tmp_path, request):
    def start(*options):
        for f in [BUILD / "hv.elf", BUILD / "guest.elf"] + ([] if "--iso" in options else [BUILD / "esp.img"]):
            if not f.exists():
                pytest.fail(f"{f.relative_to(ROOT)} missing: run 'make' first")
        ppm = tmp_path / "screen.ppm"
        run = QemuRun([*options, "--screendump", str(ppm)], "log=info", tmp_path / "serial.log", request.node)
        status = run.finish()
        no_vmx = hv_status("HV_ERR_NO_VMX")
        assert status == no_vmx, f"{run.command()} exited {status}, expected {no_vmx}:\n{run.log_tail()}"
        assert ppm.exists(), f"{run.command()} wrote no screendump"
        return Screen(ppm), run.log_path
    return start


def check_verdict_on_screen(screen, log):
    verdict = serial_line(log, "HV-EXIT status=")
    error = serial_line(log, "[hv] ERROR: no VT-x")
    halted = serial_line(log, "[hv] halted: ")
    where = f"{screen.width}x{screen.height} screen, {screen.cols}x{screen.rows} cells"

    rows = screen.rows_showing(verdict, "FBCON_ERROR")
    assert len(rows) == 1, f"the verdict {verdict!r} is not on the {where} in red (found on rows {rows})"
    assert not screen.rows_showing(verdict, "FBCON_NORMAL"), "the check does not tell colours apart"
    (vrow,) = rows
    err_rows = screen.rows_showing(error, "FBCON_ERROR")
    assert err_rows and err_rows[0] < vrow, f"the ERROR line {error[:40]!r}... is not in red above the verdict"
    assert screen.rows_showing(halted, "FBCON_NORMAL") == [vrow + 1], "the halt line does not follow the verdict"
    assert screen.last_text_row() == vrow + 1, "the screen shows more below the monitor's last line"
    # The first line of the log, and the guest image line, both in the normal colour.
    assert screen.rows_showing(serial_line(log, "[hv] hv monitor starting"), "FBCON_NORMAL"), \
        "the monitor's first line is not on screen"


def test_uefi_gop_screen_shows_the_verdict(screendump_run):
    """UEFI (OVMF, GOP framebuffer, BGRX): the ERROR line and the verdict are on screen in red."""
    screen, log = screendump_run()
    check_verdict_on_screen(screen, log)


def test_grub_framebuffer_screen_shows_the_verdict(screendump_run):
    """GRUB in a VBE graphics mode (Multiboot2 framebuffer tag, RGB fields): the same screen."""
    screen, log = screendump_run("--iso")
    check_verdict_on_screen(screen, log)
