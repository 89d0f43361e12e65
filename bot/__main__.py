"""Entry point for `python -m bot` and the `furat` console script."""

from __future__ import annotations

import os
import sys

from bot.cli import run_cli


def main() -> None:
    """Parse the command line and run the chosen command."""
    try:
        code = run_cli(sys.argv[1:])
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader left (`furat stats | head -1`): stop quietly. Python flushes stdout again
        # at exit, which would fail once more, so stdout now points at /dev/null.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        code = 141  # as a shell reports a process ended by SIGPIPE
    sys.exit(code)


if __name__ == "__main__":
    main()
