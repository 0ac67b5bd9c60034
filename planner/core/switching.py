"""A stage's switching: what differs from the network's normal state (the plan's `switching`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from planner.core.refs import ElementRef

__all__ = ["Switching"]


@dataclass(frozen=True)
class Switching:
    """Changes against the network's normal state for a stage (ties, sectionalisers, tie lines)."""

    close: tuple[ElementRef, ...] = ()
    open: tuple[ElementRef, ...] = ()
    in_service: tuple[ElementRef, ...] = field(default_factory=tuple)

    def with_tie(self, tie: ElementRef, opened: tuple[ElementRef, ...]) -> Switching:
        """This switching plus closing `tie` (a switch, or a line put in service) and opening."""
        close, in_service = self.close, self.in_service
        if tie.table == "switch":
            close = (*close, tie)
        else:
            in_service = (*in_service, tie)
        return Switching(close, (*self.open, *opened), in_service)
