"""`python -m dabench`: the same CLI as the `dabench` command."""

from dabench.cli import main

if __name__ == "__main__":
    main()
