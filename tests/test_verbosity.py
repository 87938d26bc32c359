"""-v/--verbose and -q/--quiet on every subcommand, before or after its name."""

from __future__ import annotations

import logging

import click
import pytest
from click.testing import CliRunner
from report_fixtures import fixture_records

from dabench.cli import main
from dabench.records import write_record


def _leaves(group: click.Group, path=()):
    for name, cmd in group.commands.items():
        if isinstance(cmd, click.Group):
            yield from _leaves(cmd, (*path, name))
        else:
            yield (*path, name)


LEAVES = sorted(_leaves(main))


def test_the_walk_finds_the_commands():
    assert {("run",), ("report",), ("data", "status"), ("cache", "clear")} <= set(LEAVES)


@pytest.mark.parametrize("path", LEAVES, ids=" ".join)
@pytest.mark.parametrize("flag", ["-v", "--verbose", "-q", "--quiet"])
def test_every_subcommand_takes_the_flags(path, flag):
    r = CliRunner().invoke(main, [*path, flag, "--help"])
    assert r.exit_code == 0, r.output
    assert "-q, --quiet" in r.output and "-v, --verbose" in r.output


@pytest.fixture
def probe(monkeypatch):
    """`dabench list` logs one info line and one error line."""
    from dabench import api

    real = api.describe

    def describe(what, **kw):
        log = logging.getLogger("dabench.api")
        log.info("probe-info")
        log.error("probe-error")
        return real(what, **kw)

    monkeypatch.setattr(api, "describe", describe)


@pytest.mark.parametrize(
    "args, info",
    [
        (["list"], False),
        (["list", "-v"], True),
        (["-v", "list"], True),
        (["list", "--verbose"], True),
        (["list", "-q"], False),
        (["-q", "list"], False),
    ],
)
def test_verbose_shows_info_logs_and_quiet_never_hides_errors(probe, args, info):
    r = CliRunner().invoke(main, args)
    assert r.exit_code == 0, r.output
    assert ("probe-info" in r.stderr) is info
    assert "probe-error" in r.stderr


def test_quiet_report_keeps_the_table_and_drops_the_notes(tmp_path):
    results = tmp_path / "res"
    for rec in fixture_records():
        write_record(results, rec)
    loud = CliRunner().invoke(main, ["report", "--results", str(results)])
    quiet = CliRunner().invoke(main, ["report", "-q", "--results", str(results)])
    assert loud.exit_code == quiet.exit_code == 0, quiet.output
    assert "written:" in loud.stdout and "written:" not in quiet.stdout
    assert "coral" in quiet.stdout  # the leaderboard itself is the result
    bad = CliRunner().invoke(main, ["report", "-q", "--results", str(tmp_path / "nope")])
    assert bad.exit_code == 2 and bad.stderr.startswith("Error: results directory")


def test_verbose_and_quiet_together_is_a_usage_error():
    r = CliRunner().invoke(main, ["list", "-v", "-q"])
    assert r.exit_code == 2 and len(r.output.strip().splitlines()) == 1, r.output
    assert "contradict" in r.output
