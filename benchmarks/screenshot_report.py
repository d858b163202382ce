"""Render an HTML report in headless Chromium: check its width, save a PNG.

Usage (Debian: ``apt-get install chromium``)::

    python benchmarks/screenshot_report.py                      # a synthetic report
    python benchmarks/screenshot_report.py reports/report.html  # an existing one
    python benchmarks/screenshot_report.py --out shot.png --width 1400 --height 3000

Without an argument it first writes the synthetic report of
``harness.testing.report.synthetic_run_report`` (fake data, no model) next to
the PNG. The page is loaded twice, from a copy whose collapsed blocks are
opened: once to read ``document.documentElement.scrollWidth`` and the page's
height from the DOM Chromium dumps, once for the screenshot (the whole page,
or ``--height`` pixels). Exit status 1 when the page is wider than the window:
something (a table, a long token of model output) overflows sideways.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from harness.html_report import write_html_report
from harness.testing.report import synthetic_run_report

#: Opens every <details> block, then writes the page's size into the DOM.
MEASURE = (
    "<script>window.addEventListener('load',function(){"
    "document.querySelectorAll('details').forEach(function(d){d.open=true;});"
    "var r=document.documentElement;"
    "r.setAttribute('data-scroll-width',r.scrollWidth);"
    "r.setAttribute('data-scroll-height',r.scrollHeight);});</script>"
)
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--hide-scrollbars",
    "--virtual-time-budget=10000",
)
MAX_HEIGHT = 16000


def chromium() -> str:
    """The Chromium executable, or exit with how to install it."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium is not installed (Debian: apt-get install chromium)")
    return browser


def run_chromium(page: Path, width: int, height: int, *extra: str) -> str:
    """Load ``page`` in a fresh headless profile; return what Chromium printed."""
    with tempfile.TemporaryDirectory(prefix="harness-chromium-") as profile:
        done = subprocess.run(
            [
                chromium(),
                *FLAGS,
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                *extra,
                page.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            text=True,
            timeout=180,
        )
    return done.stdout


def measure(page: Path, width: int) -> tuple[int, int]:
    """The page's scroll width and height at window width ``width``."""
    dom = run_chromium(page, width, 900, "--dump-dom")
    found = re.search(r'data-scroll-width="(\d+)" data-scroll-height="(\d+)"', dom)
    if found is None:
        raise SystemExit(f"Chromium did not report the size of {page}")
    return int(found.group(1)), int(found.group(2))


def screenshot(html: Path, out: Path, *, width: int, height: int | None) -> int:
    """Check and photograph ``html``; return its scroll width in pixels."""
    with tempfile.TemporaryDirectory(prefix="harness-page-") as folder:
        page = Path(folder) / "page.html"
        text = html.read_text(encoding="utf-8")
        page.write_text(text.replace("</body>", MEASURE + "</body>", 1), "utf-8")
        scroll_width, scroll_height = measure(page, width)
        shot_height = height or min(scroll_height, MAX_HEIGHT)
        run_chromium(page, width, shot_height, f"--screenshot={out.resolve()}")
    return scroll_width


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("html", nargs="?", type=Path, help="report to render")
    parser.add_argument("--out", type=Path, default=Path("report-screenshot.png"))
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument(
        "--height", type=int, help=f"pixels (default: the page, ≤ {MAX_HEIGHT})"
    )
    args = parser.parse_args(argv)
    html: Path = args.html
    if html is None:
        html = write_html_report(args.out.with_suffix(".html"), synthetic_run_report())
    width = screenshot(html, args.out, width=args.width, height=args.height)
    fits = width <= args.width
    print(
        f"{html} -> {args.out}: page width {width} px at window width "
        f"{args.width} px ({'fits' if fits else 'OVERFLOWS sideways'})"
    )
    return 0 if fits else 1


if __name__ == "__main__":
    sys.exit(main())
