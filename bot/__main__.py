"""Entry point for `python -m bot` and the `furat` console script."""

from __future__ import annotations

import sys

from bot.cli import run_cli


def main() -> None:
    """Parse the command line and run the chosen command."""
    sys.exit(run_cli(sys.argv[1:]))


if __name__ == "__main__":
    main()
