"""The `planner` command: parse arguments, call the library, print.

Exit codes: 0 success, 1 violations or infeasible, 2 invalid input or usage, 3 a bug.
Each module below adds its commands to the `main` group.
"""

from __future__ import annotations

import signal

from planner.cli import commands, example, programme, windows  # noqa: F401  (they register)
from planner.cli.common import EXIT_INPUT, EXIT_INTERNAL, EXIT_OK, EXIT_VIOLATIONS, main

__all__ = ["EXIT_INPUT", "EXIT_INTERNAL", "EXIT_OK", "EXIT_VIOLATIONS", "main", "run"]


def run() -> None:
    """The `planner` command: `main`, with Ctrl-C ignored once it has finished, so a late
    Ctrl-C cannot print a traceback while Python shuts down."""
    try:
        main()
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
