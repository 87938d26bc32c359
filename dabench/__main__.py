"""``python -m dabench``: the same as the ``dabench`` command."""

from dabench.cli import main

main(prog_name="dabench")
