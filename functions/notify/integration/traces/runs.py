"""What the reconciler does to a trace (domain/reconcile.py's Traces), over the stores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from notify.domain.steps import Outcome
from notify.integration.traces.claims import ClaimStore
from notify.integration.traces.outcomes import OutcomeStore
from notify.integration.traces.reads import TraceReader


@dataclass(frozen=True)
class TraceRuns:
    """Read a trace, end its run, record what it left unsent, mark dead letters."""

    reads: TraceReader
    claims: ClaimStore
    outcomes: OutcomeStore

    @classmethod
    def over(cls, table: Any, retention_days: int) -> TraceRuns:
        return cls(
            TraceReader(table),
            ClaimStore(table, retention_days),
            OutcomeStore(table, retention_days),
        )

    def read(self, trace_id: str, owner: str) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
        return self.reads.read(trace_id, owner)

    def finish(self, trace_id: str, owner: str, status: str, execution: str) -> bool:
        return self.claims.finish(trace_id, owner, status, execution)

    def record(self, trace_id: str, owner: str, outcomes: list[Outcome], execution: str) -> Any:
        return self.outcomes.record(trace_id, owner, outcomes, execution)

    def claim_dead_letter(self, message_id: str, execution: str) -> bool:
        return self.claims.claim_dead_letter(message_id, execution)

    def end_dead_letter(self, message_id: str, execution: str) -> None:
        self.claims.end_dead_letter(message_id, execution)
