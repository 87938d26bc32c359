"""Open an HTML report in headless Chromium: screenshots and a render check.

Drives the system's Chromium (Debian's ``chromium`` and ``chromium-driver``)
through Selenium, with a fresh profile and no network features, so nothing is
downloaded. Used by the tests and by ``benchmarks/tools/screenshot.py``.
"""

from __future__ import annotations

import io
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
)
BROWSERS = ("chromium", "chromium-browser", "google-chrome")
DRIVERS = ("chromedriver",)


def find(names: tuple[str, ...]) -> str | None:
    for n in names:
        path = shutil.which(n)
        if path:
            return path
    return None


def missing() -> str | None:
    """Why a browser cannot be driven here, or None if it can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "the selenium package is not installed"
    if find(BROWSERS) is None:
        return "no chromium binary on PATH (Debian: apt-get install chromium chromium-driver)"
    if find(DRIVERS) is None:
        return "no chromedriver on PATH (Debian: apt-get install chromium-driver)"
    return None


@contextmanager
def chromium(width: int = 1400, height: int = 1000) -> Iterator[object]:
    """A headless Chromium WebDriver with a throwaway profile."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    why = missing()
    if why:
        raise RuntimeError(why)
    with tempfile.TemporaryDirectory(prefix="dabench-chromium-") as profile:
        opts = webdriver.ChromeOptions()
        opts.binary_location = find(BROWSERS)
        for f in (*FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}"):
            opts.add_argument(f)
        # An explicit driver path: Selenium Manager would otherwise try to download one.
        driver = webdriver.Chrome(service=Service(executable_path=find(DRIVERS)), options=opts)
        try:
            yield driver
        finally:
            driver.quit()


def pixel_std(png: bytes) -> float:
    """Standard deviation of the grey levels of a PNG: ~0 for a blank image."""
    import numpy as np
    from PIL import Image

    return float(np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float).std())


@dataclass
class PageCheck:
    title: str
    tables: int
    images: int
    # Per plot: (alt text, rendered width, pixel std of its screenshot).
    plots: list[tuple[str, int, float]] = field(default_factory=list)
    headings: list[str] = field(default_factory=list)
    # The visible text of each table, as rendered.
    table_texts: list[str] = field(default_factory=list)


def _full_page(d, width: int) -> bytes:
    height = d.execute_script("return document.documentElement.scrollHeight")
    d.set_window_size(width, min(int(height) + 100, 30000))
    return d.get_screenshot_as_png()


def check_page(html_file: Path, screenshot_to: Path | None = None, width: int = 1400) -> PageCheck:
    """Load ``html_file`` and measure what rendered: tables, and for every plot
    whether it loaded and the pixel spread of its area in one full-page
    screenshot (also written to ``screenshot_to`` if given)."""
    import numpy as np
    from PIL import Image
    from selenium.webdriver.common.by import By

    with chromium(width=width) as d:
        d.get(Path(html_file).resolve().as_uri())
        png = _full_page(d, width)
        if screenshot_to is not None:
            Path(screenshot_to).write_bytes(png)
        page = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
        plots = []
        for img in d.find_elements(By.CSS_SELECTOR, "img.plot"):
            r = d.execute_script(
                "const b = arguments[0].getBoundingClientRect();"
                "return [b.left + window.scrollX, b.top + window.scrollY, b.width, b.height,"
                " arguments[0].complete ? arguments[0].naturalWidth : 0];",
                img,
            )
            x, y, w, h = (int(v) for v in r[:4])
            area = page[y : y + h, x : x + w]
            plots.append(
                (img.get_attribute("alt"), int(r[4]), float(area.std()) if area.size else 0.0)
            )
        return PageCheck(
            d.title,
            len(d.find_elements(By.TAG_NAME, "table")),
            len(plots),
            plots,
            [h.text for h in d.find_elements(By.TAG_NAME, "h2")],
            [t.text for t in d.find_elements(By.TAG_NAME, "table")],
        )


def screenshot(html_file: Path, png_file: Path, width: int = 1400) -> Path:
    """A full-page PNG screenshot of ``html_file``."""
    with chromium(width=width) as d:
        d.get(Path(html_file).resolve().as_uri())
        Path(png_file).write_bytes(_full_page(d, width))
    return Path(png_file)
