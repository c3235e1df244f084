"""``python -m coach``: the same command line as the ``coach`` script."""

from coach.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
