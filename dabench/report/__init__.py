"""Leaderboards built from run records only."""

from dabench.report.leaderboard import Leaderboard, build_leaderboard
from dabench.report.render import to_csv, to_markdown

__all__ = ["Leaderboard", "build_leaderboard", "to_csv", "to_markdown"]
