"""Read a PC Screen Font (PSF1 or PSF2, optionally gzip'ed), as the Linux console's fonts are stored
(kbd's doc/font-formats; Debian's console-setup-linux ships them in /usr/share/consolefonts).

Used by scripts/psf2c.py (the monitor's built-in font) and by the boot tests (which render
the expected screen text with the same glyphs).
"""
import gzip
import struct

PSF1_MAGIC = b"\x36\x04"
PSF1_MODE512 = 0x01
PSF1_MODEHASTAB = 0x02
PSF1_MODESEQ = 0x04
PSF1_SEPARATOR = 0xFFFF
PSF1_STARTSEQ = 0xFFFE
PSF1_GLYPH_WIDTH = 8
PSF1_HEADER_SIZE = 4

PSF2_MAGIC = b"\x72\xb5\x4a\x86"
PSF2_HAS_UNICODE_TABLE = 0x01
PSF2_SEPARATOR = 0xFF
PSF2_STARTSEQ = 0xFE
PSF2_HEADER_FORMAT = "<4sIIIIIII"  # magic, version, headersize, flags, length, charsize, height, width


class Font:
    """width x height glyphs; rows(cp) gives a glyph as `height` ints, bit (width-1-x) of row y = pixel (x, y)."""

    def __init__(self, width, height, glyphs, unicode_map):
        self.width = width
        self.height = height
        self.glyphs = glyphs            # list of bytes, one entry per glyph
        self.unicode_map = unicode_map  # code point -> glyph index (identity when the font has no table)
        self.bytes_per_row = (width + 7) // 8

    def index(self, cp):
        if self.unicode_map:
            return self.unicode_map.get(cp)
        return cp if cp < len(self.glyphs) else None

    def rows(self, cp):
        i = self.index(cp)
        if i is None:
            i = self.index(ord("?"))
        g = self.glyphs[i]
        bpr = self.bytes_per_row
        out = []
        for y in range(self.height):
            v = int.from_bytes(g[y * bpr:(y + 1) * bpr], "big")
            out.append(v >> (bpr * 8 - self.width))
        return out


def load(path):
    raw = open(path, "rb").read()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    if raw[:2] == PSF1_MAGIC:
        mode, charsize = raw[2], raw[3]
        count = 512 if mode & PSF1_MODE512 else 256
        start = PSF1_HEADER_SIZE
        glyphs = [raw[start + i * charsize:start + (i + 1) * charsize] for i in range(count)]
        umap = {}
        if mode & (PSF1_MODEHASTAB | PSF1_MODESEQ):
            pos = start + count * charsize
            for gi in range(count):
                in_seq = False
                while pos + 2 <= len(raw):
                    (u,) = struct.unpack_from("<H", raw, pos)
                    pos += 2
                    if u == PSF1_SEPARATOR:
                        break
                    if u == PSF1_STARTSEQ:
                        in_seq = True
                    elif not in_seq:
                        umap.setdefault(u, gi)
        return Font(PSF1_GLYPH_WIDTH, charsize, glyphs, umap)
    if raw[:4] == PSF2_MAGIC:
        _, _, hsize, flags, count, charsize, height, width = struct.unpack_from(PSF2_HEADER_FORMAT, raw)
        glyphs = [raw[hsize + i * charsize:hsize + (i + 1) * charsize] for i in range(count)]
        umap = {}
        if flags & PSF2_HAS_UNICODE_TABLE:
            pos = hsize + count * charsize
            for gi in range(count):
                end = raw.index(bytes([PSF2_SEPARATOR]), pos)
                entry = raw[pos:end]
                pos = end + 1
                single = entry.split(bytes([PSF2_STARTSEQ]))[0]
                for ch in single.decode("utf-8", errors="ignore"):
                    umap.setdefault(ord(ch), gi)
        return Font(width, height, glyphs, umap)
    raise ValueError(f"{path}: not a PSF1 or PSF2 font")
