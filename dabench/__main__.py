"""`python -m dabench`: the same CLI as the `dabench` console script."""

from dabench.cli import main

if __name__ == "__main__":
    main()
