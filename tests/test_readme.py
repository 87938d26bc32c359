"""The README's Python API example runs as written."""

from __future__ import annotations

import re
from pathlib import Path

# The checkout these tests live in (its README, tools and build inputs).
SOURCE_ROOT = Path(__file__).resolve().parents[1]


def test_the_python_api_example_runs(tmp_path, monkeypatch, capsys):
    readme = (SOURCE_ROOT / "README.md").read_text()
    section = readme.split("## Python API", 1)[1]
    (code,) = re.findall(r"```python\n(.*?)```", section.split("\n## ", 1)[0], re.S)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, "README.md", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    assert out.rstrip().endswith("3 records")
    assert len(list((tmp_path / "results_api" / "runs").glob("*.json"))) == 3
    assert "coral" in out and "source_only" in out
