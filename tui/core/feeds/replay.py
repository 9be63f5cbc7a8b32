"""Replay feed: a finished (or running) run's ``events.jsonl`` through the same state.

Messages are released on their recorded time scale, multiplied by ``speed``; ``pause``
freezes the clock and ``step`` releases exactly one message. The state's clock follows
the replay position so elapsed time and windows look as they did live.
"""

from __future__ import annotations

import asyncio
import heapq
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from ocrtop.tui.core.events import ConnectionChanged, JobFinished, SourceFailed
from ocrtop.tui.core.feeds.base import Capabilities, FeedBase, Post
from ocrtop.tui.core.feeds.logs import explain, plan_replay
from ocrtop.tui.core.state import AppState, fields

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 64.0, 256.0)
MAX_SLEEP = 2.0
"""A long silence in the recording is shortened to this many (scaled) seconds."""
MIN_SLEEP = 0.002
"""Shorter waits are added up and slept in one go."""
YIELD_EVERY = 500
"""Messages ingested between two yields to the event loop when no wait is due."""
SEEK_BUDGET = 5_000
"""Per-step events per rank shown of the part a replay skips (the charts' history)."""
SEEK_TAIL_BYTES = 256 << 10
"""The end of the skipped part is read in full: the latest values are exact."""


def _stream(path: Path, start: int = 0) -> Iterator[tuple[Any, str]]:
    from ocrtop.bridge.eventlog import read_events

    name = path.name
    for msg in read_events(path, start=start):
        yield msg, name


def _skim(path: Path, end: int) -> Iterator[tuple[Any, str]]:
    from ocrtop.bridge.eventlog import skim_events

    name = path.name
    for msg in skim_events(path, budget=SEEK_BUDGET, end=end, tail_bytes=SEEK_TAIL_BYTES):
        yield msg, name


def _by_time(streams: list[Iterator[tuple[Any, str]]]) -> Iterator[tuple[Any, str]]:
    if len(streams) == 1:
        return streams[0]
    return heapq.merge(*streams, key=lambda pair: fields(pair[0])[1])


def merged(files: list[Path], starts: list[int] | None = None) -> Iterator[tuple[Any, str]]:
    """All ranks' messages in time order, each with its stream name (the file).

    Lazy: every file is read as the replay advances (a heap merge of the ranks, each
    already in publication order), so a day-long log starts at once and memory stays
    flat instead of holding every message. ``starts``: a byte offset per file to
    begin at (see ``read_events``).
    """
    offsets = starts or [0] * len(files)
    yield from _by_time([_stream(f, s) for f, s in zip(files, offsets, strict=True)])


def skipped(files: list[Path], ends: list[int]) -> Iterator[tuple[Any, str]]:
    """What a replay that starts at ``ends`` (a byte offset per file) shows of the past:
    every rare event and a downsampled history of the per-step ones (``skim_events``)."""
    yield from _by_time([_skim(f, e) for f, e in zip(files, ends, strict=True)])


class ReplayFeed(FeedBase):
    """Plays recorded messages into the state with pause, single-step and speed control.

    A recording takes no commands (``send`` is refused: the job is not there to ask).
    """

    capabilities = Capabilities(playback=True)

    def __init__(
        self,
        state: AppState,
        post: Post,
        run_dir: str | Path | None = None,
        messages: Iterable[tuple[Any, str]] | None = None,
        speed: float = 1.0,
        start: float = 0.0,
    ) -> None:
        """``start``: where to begin, as a fraction of each log (1.0: the end, i.e. the
        run's final state at once); the part before it is skimmed, not played."""
        super().__init__(post)
        self.state = state
        self.start = min(max(start, 0.0), 1.0)
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self._given = messages
        self.speed = speed
        self.paused = False
        self._step = asyncio.Event()
        self._resume = asyncio.Event()
        self._resume.set()
        self.note = ""
        """What is wrong with the recording (a truncated log), shown with the position."""

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
        note = f" — {self.note}" if self.note else ""
        self.state.notice = f"{label} ×{self.speed:g}" + (" (end)" if self.done else "") + note
        self.state.touch()
        self.post(ConnectionChanged("replay", label))

    def choose(self, target: str) -> None:
        """Replay the run directory (or events file) ``target`` instead."""
        self.run_dir = Path(target)

    async def run(self) -> None:
        """Release messages until the recording ends."""
        run_dir = self.run_dir or Path(".")
        files: list[Path] = []
        if self._given is None:
            files, problems = plan_replay(run_dir)
            if not files:
                self.post(SourceFailed(f"cannot replay {explain(problems[0], False)}"))
                return
            if problems:
                self.note = explain(problems[0])
        try:
            starts = None
            skimmed = 0
            if self.start > 0 and self._given is None:
                starts = [int(f.stat().st_size * self.start) for f in files]
                skimmed = await self._skip(files, starts)
            items = iter(self._given if self._given is not None else merged(files, starts))
            first = next(items, None)
        except OSError as exc:
            self.post(SourceFailed(f"cannot replay {run_dir}: {exc}"))
            return
        if first is None and not skimmed:
            self.post(SourceFailed(f"no events recorded in {run_dir}"))
            return
        self._condition()
        last_t: float | None = None
        owed = 0.0  # scaled recording time not slept yet
        count = 0
        pending: tuple[Any, str] | None = first
        while pending is not None:
            msg, stream = pending
            kind, t = fields(msg)[:2]
            if last_t is not None and t > last_t and not self.paused:
                owed += min((t - last_t) / self.speed, MAX_SLEEP)
            count += 1
            # Sleep in slices of at least MIN_SLEEP: one timer per event would make a
            # fast replay of a day-long log cost a loop turn per message.
            if owed >= MIN_SLEEP:
                await asyncio.sleep(owed)
                owed = 0.0
            elif count % YIELD_EVERY == 0:
                await asyncio.sleep(0)  # let the app draw and take keys
            if self.paused:  # paused: every message waits for a step (or the resume)
                owed = 0.0
                await self._step_or_resume()
            self.state.replay_time = t if t else self.state.replay_time
            self.state.ingest(msg, stream)
            self.announce_values(kind, stream)
            last_t = t or last_t
            pending = next(items, None)
        self.finished_feeding = True
        self._condition()
        for key, job in self.state.jobs.items():
            if job.finished:
                self.post(JobFinished(key))

    async def _skip(self, files: list[Path], ends: list[int]) -> int:
        """Ingest the skimmed past at once (no waits); returns how many messages it held."""
        count = 0
        for count, (msg, stream) in enumerate(skipped(files, ends), 1):
            kind, t = fields(msg)[:2]
            self.state.replay_time = t if t else self.state.replay_time
            self.state.ingest(msg, stream)
            self.announce_values(kind, stream)
            if count % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        return count

    async def _step_or_resume(self) -> None:
        step = asyncio.ensure_future(self._step.wait())
        resume = asyncio.ensure_future(self._resume.wait())
        await asyncio.wait({step, resume}, return_when=asyncio.FIRST_COMPLETED)
        for fut in (step, resume):
            fut.cancel()
        self._step.clear()
