"""The `planner` command's entry point (also `python -m planner`).

Ctrl-C while the command is still importing its modules exits 130 with one line and no
traceback: nothing has been read or written yet, so there is nothing to undo. Once the CLI is
loaded and a command starts, its own handler takes over (`cli._friendly`: outputs are written
whole or not at all).
"""

import os
import signal


def _interrupted_at_start(signum: int, frame: object) -> None:
    os.write(2, b"\ninterrupted: nothing was written\n")
    os._exit(130)


def run() -> None:
    quiet = signal.getsignal(signal.SIGINT) is signal.default_int_handler
    if quiet:  # a background job that ignores Ctrl-C keeps ignoring it
        signal.signal(signal.SIGINT, _interrupted_at_start)
    from planner.cli import run as cli_run

    cli_run()


if __name__ == "__main__":
    run()
