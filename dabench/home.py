"""Where dabench's built-in configs and benchmark suites live: one place.

``DABENCH_HOME`` names a folder holding ``configs/`` and ``benchmarks/``; by
default it is the source checkout this package was imported from. Every module
that reads a built-in file asks here instead of walking up from its own path.
"""

from __future__ import annotations

import os
from pathlib import Path

SOURCE_ROOT = Path(__file__).resolve().parents[1]


def home() -> Path:
    env = os.environ.get("DABENCH_HOME")
    return Path(env).expanduser() if env else SOURCE_ROOT


HOME = home()
CONFIG_DIR = HOME / "configs"
BENCH_DIR = HOME / "benchmarks"
