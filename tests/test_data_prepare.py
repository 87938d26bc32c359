"""`dabench data prepare` after a failed download: a usable message, no litter."""

from __future__ import annotations

import socket

from click.testing import CliRunner

from dabench.cli import main


def _no_dns(monkeypatch):
    # Every download fails the way it does offline, before any connection.
    def fail(*args, **kwargs):
        raise socket.gaierror(-2, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)


def test_a_failed_download_leaves_no_empty_folders_and_no_flag_it_lacks(tmp_path, monkeypatch):
    _no_dns(monkeypatch)
    root = tmp_path / "new" / "data"
    r = CliRunner().invoke(main, ["data", "prepare", "mnist2usps", "--data-root", str(root)])
    assert r.exit_code == 2 and "download failed" in r.output
    assert "--download" not in r.output  # `data prepare` has no such option
    assert not (tmp_path / "new").exists()  # nor MNIST/raw, nor the root it made

    kept = tmp_path / "kept"
    (kept / "MNIST").mkdir(parents=True)
    (kept / "notes.txt").write_text("mine")
    r = CliRunner().invoke(main, ["data", "prepare", "mnist2usps", "--data-root", str(kept)])
    assert r.exit_code == 2
    assert sorted(p.name for p in kept.rglob("*")) == ["MNIST", "notes.txt"]
