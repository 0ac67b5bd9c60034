"""report.html opens in a real browser (headless Chromium): not blank, names shown, trucks."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from tests.conftest import CASES

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
TRUCK_ORANGE = (0xE6, 0x7E, 0x22)


def _pixels(png: bytes) -> tuple[int, int, list[tuple[int, ...]]]:
    """Decode an 8-bit RGB/RGBA PNG (what Chromium writes) into pixels."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width, height, channels = 8, b"", 0, 0, 4
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        data = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", data[:10])
            assert depth == 8 and colour in (2, 6)
            channels = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytearray] = []
    prev = bytearray(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
        rows.append(line)
        prev = line
    pixels = [tuple(r[i : i + 3]) for r in rows for i in range(0, stride, channels)]
    return width, height, pixels


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from planner.cli import main

    out = tmp_path_factory.mktemp("report")
    result = CliRunner().invoke(
        main, ["plan", str(CASES / "case33bw_trucks.toml"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out / "report.html"


def _chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        pytest.fail(
            "headless Chromium is needed for this test: `make test` installs Debian's "
            "chromium when it is missing"
        )
    return path


def test_report_is_self_contained(report: Path) -> None:
    html = report.read_text()
    assert html.startswith("<!DOCTYPE html>")
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "https://" not in html and "<script" not in html
    assert html.count('class="truck"') == 2
    assert "Truck loading over time" in html and "Voltage range over time" in html


def test_report_renders_in_headless_chromium(report: Path, tmp_path: Path) -> None:
    chromium = _chromium()
    profile = tmp_path / "profile"
    url = report.resolve().as_uri()
    dom = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={profile}", "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Dispatch plan: IEEE 33-bus" in dom.stdout
    drawing = re.search(r'<svg[^>]*class="network".*?</svg>', dom.stdout, re.S)
    assert drawing is not None
    size = re.search(r'viewBox="0 0 (\d+) (\d+)"', drawing.group())
    assert size is not None
    texts = {}
    for attrs, body in re.findall(r"<text([^>]*)>(.*?)</text>", drawing.group()):
        x = float(re.search(r'\bx="([-\d.]+)"', attrs).group(1))  # type: ignore[union-attr]
        y = float(re.search(r'\by="([-\d.]+)"', attrs).group(1))  # type: ignore[union-attr]
        texts[re.sub(r"<[^>]+>", "", body)] = (x, y)
    # shown as text, not only on hover: the works, the connection points, trucks with their kW
    for name in ("line #28", "30", "32", "T1 500 kW", "T2 500 kW"):
        assert name in texts, f"{name!r} is not a text of the drawing"
        x, y = texts[name]
        assert 0 <= x <= int(size.group(1)) and 0 <= y <= int(size.group(2)), name
    ticks = re.findall(r"<text[^>]*>([-\d.,]+ (?:%|pu))</text>", dom.stdout)
    assert "100 %" in ticks and "0.90 pu" in ticks, ticks
    shot = tmp_path / "report.png"
    run = subprocess.run(
        [
            chromium,
            *FLAGS,
            f"--user-data-dir={profile}",
            "--window-size=1000,1400",
            f"--screenshot={shot}",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0 and shot.exists(), run.stderr[-2000:]
    width, height, pixels = _pixels(shot.read_bytes())
    assert (width, height) == (1000, 1400)
    background = max(set(pixels[::97]), key=pixels[::97].count)
    drawn = sum(1 for p in pixels if p != background)
    assert drawn > 0.03 * len(pixels), "the page is (almost) blank"
    assert len(set(pixels)) > 50
    orange = sum(
        1 for p in pixels if all(abs(a - b) < 12 for a, b in zip(p, TRUCK_ORANGE, strict=True))
    )
    assert orange > 100, "no truck drawn in the first screen"
