"""The planner's exception tree: every error a user can cause is a `PlannerError`."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CaseError",
    "InputError",
    "LoadFlowError",
    "NetworkError",
    "OutputError",
    "PlanFileError",
    "PlannerError",
    "Problem",
]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is (file, key path or element) and what."""

    file: str
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}: {self.key}" if self.key else self.file
        return f"{where}: {self.message}"


class PlannerError(Exception):
    """Root of every error the planner raises on purpose."""


class InputError(PlannerError):
    """Invalid input; holds all problems found, not only the first."""

    kind = "input"

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__(self._text())

    def _text(self) -> str:
        count = len(self.problems)
        head = f"invalid {self.kind}: {count} problem{'s' if count != 1 else ''}"
        return "\n".join([head, *(f"  - {p}" for p in self.problems)])


class CaseError(InputError):
    """The case file does not follow `planner.case/1` or does not fit its network."""

    kind = "case"


class NetworkError(InputError):
    """The network cannot be loaded or is unusable."""

    kind = "network"


class PlanFileError(InputError):
    """A plan file does not follow `planner.plan/1` or does not match the case."""

    kind = "plan"


class OutputError(PlannerError):
    """Outputs cannot be written where asked."""


class LoadFlowError(PlannerError):
    """A load flow failed in a way that is not a finding about the network."""
