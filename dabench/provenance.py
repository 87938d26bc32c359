"""Where a result came from: code version, environment, hardware."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from functools import lru_cache
from pathlib import Path
from typing import Any

import torch

import dabench
from dabench.home import is_checkout, source_root


def _git(*args: str) -> str | None:
    # An installed wheel has no git sha of its own; a venv inside some other
    # repository must not report that repository's.
    if not is_checkout():
        return None
    try:
        out = subprocess.run(
            ["git", "-C", str(source_root()), *args],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def cpu_model() -> str:
    """The CPU's model name (``platform.processor()`` is often empty on Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


@lru_cache(maxsize=1)
def _static() -> dict[str, Any]:
    sha = _git("rev-parse", "HEAD")
    # Dirty = tracked source changed; results/ is output, not code.
    status = (
        _git("status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)results")
        if sha
        else None
    )
    import pytorch_adapt

    return {
        "dabench_version": dabench.__version__,
        "git_sha": sha,
        "git_dirty": None if status is None else bool(status),
        "torch": torch.__version__,
        "pytorch_adapt": pytorch_adapt.__version__,
        "cuda": torch.version.cuda,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "argv": " ".join(sys.argv[1:]) or None,
    }


def provenance(device: torch.device) -> dict[str, Any]:
    info = dict(_static())
    info["device"] = str(device)
    info["device_name"] = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else platform.processor() or "cpu"
    )
    info["torch_threads"] = torch.get_num_threads()
    return info
