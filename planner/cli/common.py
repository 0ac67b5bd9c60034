"""What every `planner` command shares: the group, printing, errors to exit codes, progress.

Exit codes: 0 success, 1 violations or infeasible, 2 invalid input or usage, 3 a bug.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import signal
import sys
from collections.abc import Callable
from typing import Any

import click

from planner.core.errors import InputError, OutputError, PlannerError
from planner.core.text import for_terminal
from planner.core.version import __version__

EXIT_OK, EXIT_VIOLATIONS, EXIT_INPUT, EXIT_INTERNAL = 0, 1, 2, 3
EXIT_PIPE = 0  # `planner ... | head`: the reader has what it wanted


def _say(*lines: str, err: bool = False) -> None:
    """Print each argument as one line, control characters shown as escapes.

    Every line the command prints goes through here: names from the case, the network or a
    plan file can neither drive the terminal nor start a line of their own.
    """
    click.echo("\n".join(for_terminal(line) for line in lines), err=err)


class _TerminalFormatter(logging.Formatter):
    """Log records (with -v) as one escaped line each; a traceback keeps its lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return for_terminal(super().formatMessage(record))


def _interruptible() -> None:
    """From here on Ctrl-C raises KeyboardInterrupt, handled below (exit 130, outputs whole).

    Until a command starts, `planner.__main__` makes Ctrl-C exit 130 at once: there is nothing
    to undo while modules load and arguments are parsed. A Ctrl-C that is ignored stays ignored.
    """
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        # not the main thread (an embedding application): leave it be
        with contextlib.suppress(ValueError):
            signal.signal(signal.SIGINT, signal.default_int_handler)


def _friendly(func: Callable[..., Any]) -> Callable[..., Any]:
    """Turn the planner's errors into messages and exit codes; never a traceback for bad input."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        _interruptible()
        try:
            return func(*args, **kwargs)
        except PlannerError as exc:
            if kwargs.get("as_json"):  # machines get the error on stdout too
                from planner.outputs.summaries import dumps, error_summary

                click.echo(dumps(error_summary(exc)))
            if isinstance(exc, InputError):  # a head line, then one line per problem
                head = str(exc).partition("\n")[0]
                _say(f"error: {head}", *(f"  - {p}" for p in exc.problems), err=True)
            else:
                _say(f"error: {exc}", err=True)
            sys.exit(EXIT_INPUT if isinstance(exc, InputError | OutputError) else EXIT_VIOLATIONS)
        except KeyboardInterrupt:
            click.echo(
                "\ninterrupted: nothing was written, earlier outputs are unchanged", err=True
            )
            sys.exit(130)
        except BrokenPipeError:  # the reader went away (`| head`): stop printing, quietly
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            sys.exit(EXIT_PIPE)
        except MemoryError:  # the input checks should have refused the run before it began
            _say(
                "internal error: the run ran out of memory; the planner should have refused "
                "it before starting, so this is a bug in planner",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)
        except Exception as exc:  # a bug: say so plainly; the traceback is for -v
            context = click.get_current_context(silent=True)
            if context is not None and context.find_root().params.get("verbose"):
                raise
            _say(
                f"internal error: {type(exc).__name__}: {exc}",
                "this is a bug in planner, not in your input; rerun with -v for the traceback",
                err=True,
            )
            sys.exit(EXIT_INTERNAL)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="planner")
@click.option("-v", "--verbose", is_flag=True, help="Log what the planner does.")
def main(verbose: bool) -> None:
    """Plan outage-free relocation of power lines with mobile generator trucks."""
    handler = logging.StreamHandler()
    handler.setFormatter(_TerminalFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, handlers=[handler])
    if not verbose:  # pandapower's own notices (numba, deprecations) are not the user's business
        logging.getLogger("pandapower").setLevel(logging.ERROR)


def _load(case_path: str):
    """The case and its network; at a terminal, a line first, as loading a large network (or a
    SimBench one) takes seconds."""
    from planner.api import load_case

    if sys.stderr.isatty():
        _say(f"reading {case_path} and its network ...", err=True)
    return load_case(case_path)


class _Progress:
    """click progress bars for long verification runs, one bar per label, on stderr."""

    def __init__(self) -> None:
        self.label = ""
        self.bar: Any = None

    def __call__(self, label: str, advance: int, total: int) -> None:
        if label != self.label:
            self.close()
            self.label = label
            self.bar = click.progressbar(
                length=total, label=for_terminal(label), file=sys.stderr, width=30
            )
            self.bar.__enter__()
        if advance:
            self.bar.update(advance)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None
