"""Render an HTML report in headless Chromium and save a PNG screenshot.

Usage (Debian: ``apt-get install chromium``)::

    python benchmarks/screenshot_report.py                      # a synthetic report
    python benchmarks/screenshot_report.py reports/report.html  # an existing one
    python benchmarks/screenshot_report.py --out shot.png --height 3000

Without an argument it writes the synthetic report of
``harness.testing.report.synthetic_run_report`` next to the screenshot first.
Look at the PNG: the gap curves and both heat-maps must show.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def screenshot(html: Path, out: Path, *, width: int, height: int) -> Path:
    """Render ``html`` with headless Chromium into ``out`` (PNG)."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        raise SystemExit("chromium is not installed (Debian: apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="harness-chromium-") as profile:
        subprocess.run(
            [
                browser,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--hide-scrollbars",
                f"--user-data-dir={profile}",
                f"--window-size={width},{height}",
                f"--screenshot={out.resolve()}",
                html.resolve().as_uri(),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("html", nargs="?", type=Path, help="report to render")
    parser.add_argument("--out", type=Path, default=Path("report-screenshot.png"))
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=2600)
    args = parser.parse_args(argv)
    html = args.html
    if html is None:
        from harness.html_report import write_html_report
        from harness.testing.report import synthetic_run_report

        html = write_html_report(args.out.with_suffix(".html"), synthetic_run_report())
    shot = screenshot(html, args.out, width=args.width, height=args.height)
    print(f"{html} -> {shot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
