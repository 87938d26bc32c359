"""Full-page screenshot of an HTML report in headless Chromium.

    python benchmarks/tools/screenshot.py results/report.html results/report.png

Needs Debian's chromium and chromium-driver and the selenium package.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dabench.report.browser import missing, screenshot


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("html", type=Path)
    ap.add_argument("png", type=Path)
    ap.add_argument("--width", type=int, default=1400)
    args = ap.parse_args()
    why = missing()
    if why:
        print(f"Error: cannot take a screenshot: {why}", file=sys.stderr)
        return 2
    if not args.html.is_file():
        print(f"Error: {args.html} is not a file", file=sys.stderr)
        return 2
    print(screenshot(args.html, args.png, args.width))
    return 0


if __name__ == "__main__":
    sys.exit(main())
