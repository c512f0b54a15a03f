"""Headless Chromium for the report tests: the rendered DOM (``--dump-dom``) and a screenshot.

Chromium runs with a fresh profile and with every background network feature off, so that it
neither stalls on a closed network nor reaches out; the report itself forbids any fetch (CSP).
The screenshot is a PNG: :func:`png_info` reads its size and counts its non-background pixels
with the standard library (zlib and the PNG filters of RFC 2083 / ISO 15948 section 9).
"""

from __future__ import annotations

import dataclasses
import pathlib
import shutil
import struct
import subprocess
import tempfile
import zlib

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
         "--default-background-color=ffffffff"]


def _run(args: list[str], timeout: int = 90) -> subprocess.CompletedProcess[str]:
    if CHROMIUM is None:
        raise RuntimeError("chromium is not installed (.ci/run installs Debian's chromium)")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args], capture_output=True,
                              text=True, timeout=timeout, check=False)


def dump_dom(page: pathlib.Path, fragment: str = "") -> str:
    """The DOM after the page's script ran, serialised by Chromium."""
    proc = _run(["--dump-dom", page.resolve().as_uri() + fragment])
    if proc.returncode != 0 or "<html" not in proc.stdout:
        raise AssertionError(f"chromium --dump-dom failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout


def screenshot(page: pathlib.Path, out: pathlib.Path, width: int, height: int) -> pathlib.Path:
    proc = _run([f"--screenshot={out}", f"--window-size={width},{height}", page.resolve().as_uri()])
    if not out.exists():
        raise AssertionError(f"chromium --screenshot wrote nothing ({proc.returncode}): {proc.stderr[-2000:]}")
    return out


@dataclasses.dataclass
class PngInfo:
    width: int
    height: int
    size: int  # bytes of the file
    inked: int  # pixels that are not the white background
    colored: int  # pixels whose channels differ by more than 60 (the charts' greens, reds, oranges)


def png_info(path: pathlib.Path) -> PngInfo:
    """Decode an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes) and count pixels."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise AssertionError(f"{path} is not a PNG")
    pos, idat, width = 8, b"", 0
    height = depth = ctype = interlace = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, ctype, _c, _f, interlace = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    if depth != 8 or ctype not in (2, 6) or interlace:
        raise AssertionError(f"unexpected PNG format depth={depth} color type={ctype} interlace={interlace}")
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    inked = colored = 0
    for y in range(height):
        ftype = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        for x in range(0, stride, bpp):
            r, g, bl = line[x], line[x + 1], line[x + 2]
            if (r, g, bl) != (255, 255, 255):
                inked += 1
            if max(r, g, bl) - min(r, g, bl) > 60:
                colored += 1
        prev = line
    return PngInfo(width, height, len(data), inked, colored)
