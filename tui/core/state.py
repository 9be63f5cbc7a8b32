"""The dashboard's state: every bridge message lands here, widgets only read it.

Ingestion is separate from rendering. The source task calls :meth:`AppState.ingest` for
each message (cheap, O(1) amortised, bounded memory); a timer in the app reads the state
a few times per second. Nothing here imports Textual, so the headless printer and the
benchmarks use exactly the same model.

Jobs and ranks: every connection ("stream") belongs to one rank of one job, learned from
its ``hello``. A sweep is several jobs; a DDP job is several ranks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ocrtop.bridge.protocol import EVENT_TYPES
from ocrtop.tui.core.rank import FINISHED, RankState, fields
from ocrtop.tui.core.view import WINDOWS, ViewState

__all__ = ["FINISHED", "WINDOWS", "AppState", "JobState", "RankState", "ViewState", "fields"]
"""Types that carry a publisher-wide ``seq``; session types (ack, dropped...) do not."""


class JobState:
    """One training job: its ranks and the connection to them."""

    def __init__(self, key: str) -> None:
        self.key = key
        self.ranks: dict[int, RankState] = {}
        self.connection = "connecting"
        self.exit_code: int | None = None

    def rank(self, rank: int) -> RankState:
        """The rank's state, created on first use."""
        if rank not in self.ranks:
            self.ranks[rank] = RankState(rank)
        return self.ranks[rank]

    @property
    def primary(self) -> RankState:
        """Rank 0 (or the lowest rank seen): the one whose meta and progress the header shows."""
        return self.ranks[min(self.ranks)] if self.ranks else self.rank(0)

    @property
    def job_id(self) -> str:
        """The job's name: rank 0's job id (the key is the run dir, shared by all ranks)."""
        return str(self.hello.get("job_id") or self.key)

    @property
    def hello(self) -> dict[str, Any]:
        """The primary rank's hello payload."""
        return self.primary.hello

    @property
    def world_size(self) -> int:
        """Ranks announced by the hello, or seen so far."""
        return max(int(self.hello.get("world_size") or 1), len(self.ranks))

    @property
    def status(self) -> str:
        """The job's status: failed/stopped win over done; otherwise the primary rank's."""
        states = {r.status for r in self.ranks.values()}
        for final in ("failed", "stopped"):
            if final in states:
                return final
        return self.primary.status

    @property
    def finished(self) -> bool:
        """True when every known rank reported a final status, or the job's process exited."""
        ranks_done = bool(self.ranks) and all(r.finished for r in self.ranks.values())
        return ranks_done or self.exit_code is not None

    @property
    def final_exit_code(self) -> int | None:
        """The process's exit code, else the one the primary rank reported with its status."""
        if self.exit_code is not None:
            return self.exit_code
        return self.primary.status_payload.get("exit_code")


class AppState:
    """All jobs the TUI knows about, which one is shown, and the source's condition."""

    def __init__(self, clock: Callable[[], float] = time.time, readonly: bool = False) -> None:
        self.clock = clock
        self.readonly = readonly
        self.jobs: dict[str, JobState] = {}
        self.streams: dict[str, tuple[str, int]] = {}
        self.last_seq: dict[tuple[str, int], int] = {}
        self.view = ViewState()
        self.notice = ""
        self.version = 0
        self.replay_time: float | None = None

    def touch(self) -> None:
        """Mark the state changed after a view setting (window, filter) changed."""
        self.version += 1

    def cycle_window(self) -> None:
        """Next time window of the history graphs (1 min, 5 min, 15 min, whole run)."""
        self.view.cycle_window()
        self.touch()

    def now(self) -> float:
        """Wall-clock time, or the replay position when replaying a recorded run."""
        return self.replay_time if self.replay_time is not None else self.clock()

    def ingest(self, msg: Any, stream: str = "default") -> None:
        """Apply one bridge message received on ``stream`` (one connection = one rank).

        Events already seen (by ``seq``, per publisher) are skipped, so the snapshot that
        follows a reconnect or a ``dropped`` report fills gaps without doubling history.
        """
        kind, t, seq, step, epoch, payload = fields(msg)
        if kind == "hello":
            self._hello(payload, stream)
        elif kind == "snapshot":
            for event in payload.get("events") or []:
                self.ingest(event, stream)
            rank = self._rank_of(stream)
            rank.dropped = max(rank.dropped, int(payload.get("dropped") or 0))
        else:
            key = self.streams.get(stream, (stream, 0))
            if kind in EVENT_TYPES and isinstance(seq, int):
                if seq <= self.last_seq.get(key, -1):
                    return
                self.last_seq[key] = seq
            self.add_job(key[0]).rank(key[1]).ingest(kind, t, step, epoch, payload)
        self.version += 1

    def _hello(self, p: dict[str, Any], stream: str) -> None:
        """Map the stream to its job and rank; ranks of one DDP job share the run dir."""
        job_key = str(p.get("run_dir") or p.get("job_id") or stream)
        key = (job_key, int(p.get("rank") or 0))
        self.streams[stream] = key
        self.notice = ""  # "starting…"/"connecting…" are over once a job speaks
        job = self.add_job(job_key)
        job.connection = "live"
        rank = job.rank(key[1])
        same = [rank.hello.get(k) for k in ("pid", "start_time")] == [
            p.get("pid"),
            p.get("start_time"),
        ]
        if not same:
            self.last_seq.pop(key, None)
        rank.hello = p

    def _rank_of(self, stream: str) -> RankState:
        job_id, rank = self.streams.get(stream, (stream, 0))
        return self.add_job(job_id).rank(rank)

    def add_job(self, key: str) -> JobState:
        """Register a job by its key (run dir); show it when following the newest."""
        if key not in self.jobs:
            self.jobs[key] = JobState(key)
            self.view.job_added(key)
        return self.jobs[key]

    def set_connection(self, stream: str, condition: str) -> None:
        """Record a stream's condition: connecting, live, reconnecting or closed."""
        if stream in self.streams:
            self.jobs[self.streams[stream][0]].connection = condition
        elif condition != "live":  # no hello yet: no job to attach the condition to
            self.notice = f"{condition} {stream}".strip()
        self.version += 1

    @property
    def job(self) -> JobState | None:
        """The job on screen."""
        current = self.view.current
        return self.jobs.get(current) if current else None

    def view_key(self) -> tuple[str | None, int | None, int]:
        """Which job and rank are on screen (panels redraw when this changes)."""
        return (self.view.current, self.view.rank_view, len(self.jobs))

    @property
    def rank(self) -> RankState | None:
        """The rank on screen: the selected one, or the primary rank in the merged view."""
        job = self.job
        if job is None:
            return None
        shown = self.view.rank_view
        if shown is not None and shown in job.ranks:
            return job.ranks[shown]
        return job.primary

    def listed_ranks(self) -> list[RankState]:
        """The ranks whose alerts and logs the panels list: the rank on screen, or every
        rank of the job in the merged view."""
        job, rank = self.job, self.rank
        if job is None:
            return []
        return [rank] if self.view.rank_view is not None and rank else list(job.ranks.values())

    def cycle_job(self, delta: int) -> None:
        """Show the previous/next job of a sweep; stop following the newest."""
        self.view.cycle_job(list(self.jobs), delta)
        self.version += 1

    def show_job(self, key: str) -> None:
        """Put one job on screen (sweep table); following resumes only for the newest."""
        if key not in self.jobs:
            return
        self.view.show_job(list(self.jobs), key)
        self.version += 1

    def cycle_rank(self) -> None:
        """Step through merged view -> rank 0 -> rank 1 -> ... -> merged view."""
        job = self.job
        self.view.cycle_rank(sorted(job.ranks) if job else [])
        self.version += 1
