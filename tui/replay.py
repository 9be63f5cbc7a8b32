"""Replay feed: a finished (or running) run's ``events.jsonl`` through the same state.

Messages are released on their recorded time scale, multiplied by ``speed``; ``pause``
freezes the clock and ``step`` releases exactly one message. The state's clock follows
the replay position so elapsed time and windows look as they did live.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from bridge.eventlog import EVENTS_FILE
from tui.messages import ConnectionChanged, JobFinished, SourceFailed
from tui.source import Post
from tui.state import AppState, fields

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0, 256.0)
MAX_SLEEP = 2.0
"""A long silence in the recording is shortened to this many (scaled) seconds."""


def rank_files(run_dir: Path) -> list[Path]:
    """``events.jsonl`` and ``events.rank<N>.jsonl`` of a run dir (or the file itself)."""
    if run_dir.is_file():
        return [run_dir]
    return sorted(run_dir.glob("events*.jsonl"), key=lambda p: (p.name != EVENTS_FILE, p.name))


def merged(files: list[Path]) -> Iterator[tuple[Any, str]]:
    """All ranks' messages in time order, each with its stream name (the file)."""
    from bridge.eventlog import read_events

    streams = [[(m, f.name) for m in read_events(f)] for f in files]
    yield from sorted((pair for s in streams for pair in s), key=lambda pair: fields(pair[0])[1])


class ReplaySource:
    """Plays recorded messages into the state with pause, single-step and speed control."""

    def __init__(
        self,
        state: AppState,
        post: Post,
        run_dir: str | Path | None = None,
        messages: Iterable[tuple[Any, str]] | None = None,
        speed: float = 1.0,
    ) -> None:
        self.state, self.post = state, post
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self._given = messages
        self.speed = speed
        self.paused = False
        self._step = asyncio.Event()
        self._resume = asyncio.Event()
        self._resume.set()
        self.done = False

    def toggle_pause(self) -> None:
        """Space: freeze or continue."""
        self.paused = not self.paused
        if self.paused:
            self._resume.clear()
        else:
            self._resume.set()
        self._condition()

    def step(self) -> None:
        """Dot: pause and release one message."""
        if not self.paused:
            self.toggle_pause()
        self._step.set()

    def faster(self, delta: int) -> None:
        """Plus/minus: next or previous speed."""
        idx = min(range(len(SPEEDS)), key=lambda i: abs(SPEEDS[i] - self.speed))
        self.speed = SPEEDS[max(0, min(len(SPEEDS) - 1, idx + delta))]
        self._condition()

    def _condition(self) -> None:
        label = "paused" if self.paused else "replay"
        self.state.notice = f"{label} ×{self.speed:g}" + (" (end)" if self.done else "")
        self.state.touch()
        self.post(ConnectionChanged("replay", label))

    async def run(self) -> None:
        """Release messages until the recording ends."""
        try:
            source = (
                self._given
                if self._given is not None
                else merged(rank_files(self.run_dir or Path(".")))
            )
            items = iter(source)
            first = next(items, None)
        except (FileNotFoundError, OSError) as exc:
            self.post(SourceFailed(f"cannot replay {self.run_dir}: {exc}"))
            return
        if first is None:
            self.post(SourceFailed(f"no events recorded in {self.run_dir}"))
            return
        self._condition()
        last_t: float | None = None
        pending: tuple[Any, str] | None = first
        while pending is not None:
            msg, stream = pending
            t = fields(msg)[1]
            if last_t is not None and t > last_t and not self.paused:
                await asyncio.sleep(min((t - last_t) / self.speed, MAX_SLEEP))
            if self.paused:  # paused: every message waits for a step (or the resume)
                await self._step_or_resume()
            self.state.replay_time = t if t else self.state.replay_time
            self.state.ingest(msg, stream)
            last_t = t or last_t
            pending = next(items, None)
        self.done = True
        self._condition()
        for key, job in self.state.jobs.items():
            if job.finished:
                self.post(JobFinished(key))

    async def _step_or_resume(self) -> None:
        step = asyncio.ensure_future(self._step.wait())
        resume = asyncio.ensure_future(self._resume.wait())
        await asyncio.wait({step, resume}, return_when=asyncio.FIRST_COMPLETED)
        for fut in (step, resume):
            fut.cancel()
        self._step.clear()
