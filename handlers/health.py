"""What /status shows of the background work: each worker's state and each job's last failure."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class State(StrEnum):
    """Where a supervised worker is."""

    STARTING = "starting"
    RUNNING = "running"
    RESTARTING = "restarting"
    STOPPED = "stopped"


@dataclass
class Worker:
    """The live state of one supervised worker, as /status shows it."""

    state: State = State.STARTING
    since: datetime | None = None
    last_error: str | None = None
    failed_at: datetime | None = None
    restarts: int = 0


@dataclass
class Health:
    """What the operator sees of the background work: the sender and each job's last failure."""

    sender: Worker = field(default_factory=Worker)
    jobs: dict[str, tuple[datetime, str]] = field(default_factory=dict)
