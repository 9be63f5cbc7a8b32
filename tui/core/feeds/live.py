"""Live feed: connect to a job's ranks (or every job of an ``ocrtop train`` group) and
pour their messages into the state, reconnecting when a stream drops.

Runs as asyncio tasks inside the app's event loop (or the headless loop), so ingestion
needs no threads and no locks; the app only reads the state on its timer.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from ocrtop.tui.core.events import (
    CommandFailed,
    ConnectionChanged,
    JobFinished,
    SnapshotLoaded,
    SourceFailed,
)
from ocrtop.tui.core.feeds import backfill
from ocrtop.tui.core.feeds.base import Capabilities, FeedBase, Post
from ocrtop.tui.core.feeds.logs import explain, plan_replay
from ocrtop.tui.core.state import AppState, fields

log = logging.getLogger(__name__)

Connect = Callable[[str], Awaitable[Any]]
FINISHING = ("hello", "status", "snapshot")
"""Message types that can change whether a job finished (a snapshot carries statuses)."""


async def _bridge_connect(target: str) -> Any:
    from ocrtop.bridge.client import BridgeClient

    return await BridgeClient.connect(target)


def _list_group(group: str) -> list[Any]:
    from ocrtop.bridge.registry import list_jobs

    return list_jobs(group=group)


def _ranks_of(target: str) -> list[Any]:
    """Registry entries of every rank of the job ``target`` names (just the target otherwise)."""
    from ocrtop.bridge.registry import find_job, list_jobs

    entry = find_job(target)
    return [j for j in list_jobs() if j.run_dir == entry.run_dir] or [entry]


def check_attach_target(target: str) -> tuple[str, str | None]:
    """The stream to follow for ``target``, or the one-line reason attaching cannot work.

    A run directory (or its events file) is accepted when a live job writes it: the
    job's id is followed. A recorded run with no live job is pointed at ``ocrtop
    replay``, with what is wrong with its log if something is. ssh and tcp targets
    pass through: only the connection can tell.
    """
    import os
    import stat

    from ocrtop.bridge.registry import RegistryError, find_job, is_socket_target, list_jobs

    if target.startswith(("ssh://", "tcp://")):
        return target, None
    path = Path(target.removeprefix("unix://"))
    if path.exists():
        if stat.S_ISSOCK(path.stat().st_mode):
            return target, None
        run_dir = path.parent if path.is_file() else path
        try:
            jobs = list_jobs()
        except RegistryError:
            jobs = []
        for job in jobs:
            if job.run_dir and os.path.realpath(job.run_dir) == os.path.realpath(run_dir):
                return job.job_id, None
        files, problems = plan_replay(path)
        what = explain(problems[0], bool(files)) if problems else f"{target}: a recorded run"
        return target, f"{what}; no live job writes it (replay it: ocrtop replay {target})"
    if is_socket_target(target):
        return target, f"{path}: no such socket, run directory or events file"
    try:
        find_job(target)
    except RegistryError as exc:  # the reason; a list of the running jobs may follow it
        return target, str(exc)
    return target, None


class LiveFeed(FeedBase):
    """Follows one target (socket, job id, ``ssh://host/JOB``) or a whole group of jobs.

    It sends commands unless the state is read-only (``attach --readonly``): the
    capability says so, and the app asks it rather than the state.
    """

    def __init__(
        self,
        state: AppState,
        post: Post,
        target: str | None = None,
        group: str | None = None,
        connect: Connect = _bridge_connect,
        retry_s: float = 0.5,
        poll_s: float = 0.5,
    ) -> None:
        super().__init__(post)
        self.state, self.connect = state, connect
        self.target, self.group = target, group
        self.capabilities = Capabilities(live=True, commands=not state.readonly)
        self.retry_s, self.poll_s = retry_s, poll_s
        self.clients: dict[str, Any] = {}
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.backfilled: set[str] = set()
        self.seen: dict[str, dict[str, Any]] = {}
        """Run dirs (and hello meta) of every registry entry of the group seen so far."""
        self.started: dict[str, float] = {}
        """Start time of the registry entry each job's follower was started for."""
        self.stopping = False

    async def run(self) -> None:
        """Connect and keep following until cancelled (or, for a single target, it closes)."""
        try:
            await self._run()
        finally:
            self.finished_feeding = True  # nothing more will come, however it ended

    async def _run(self) -> None:
        if self.group is None:
            streams = [self.target or ""]
            if self.target and not self.target.startswith("ssh://") and "/" not in self.target:
                try:
                    streams = [e.job_id for e in await asyncio.to_thread(_ranks_of, self.target)]
                except Exception as exc:  # registry error: try the target as given
                    log.debug("rank lookup for %s failed: %s", self.target, exc)
            await asyncio.gather(*(self.follow(s) for s in streams))
            return
        while not self.stopping:
            entries = await asyncio.to_thread(_list_group, self.group)
            for entry in entries:
                self.seen[str(entry.run_dir)] = dict(entry.meta or {})
                task = self.tasks.get(entry.job_id)
                # A job's test stage reopens its publisher under the same id: follow again.
                reopened = task is not None and task.done()
                reopened = reopened and self.started.get(entry.job_id) != entry.start_time
                if task is None or reopened:
                    self.started[entry.job_id] = entry.start_time
                    self.tasks[entry.job_id] = asyncio.create_task(self.follow(entry.job_id))
            await self.backfill({str(e.run_dir) for e in entries})
            await asyncio.sleep(self.poll_s)

    async def catch_up(self) -> None:
        """The jobs that ended unseen, once no job is live any more (the trainer exited)."""
        await self.backfill(set())

    async def backfill(self, live: set[str]) -> None:
        """Read jobs that ended unseen from their event logs: registered jobs that ended
        before a connection succeeded, and sweep jobs that started and ended between polls.
        """
        known = set(self.state.jobs) | live | self.backfilled
        candidates = {Path(d) for d in self.seen if d not in known}
        sweeps = backfill.sweep_dirs(self.state)
        sweeps |= {Path(d).parent for d, meta in self.seen.items() if "sweep_job" in meta}
        # Listing sweep folders is file-system work: off the loop, every poll.
        run_dirs = await asyncio.to_thread(backfill.scan, sweeps, candidates, known)
        if run_dirs:
            await self._read_back(run_dirs)

    async def _read_back(self, run_dirs: list[Path]) -> None:
        """Read the logs in one worker thread, ingesting each as soon as it is read.

        One thread for the batch, not one hand-off per job: on a loaded machine every
        hand-off waits for a scheduler slot, and a 50-job sweep would pay that 50 times.
        """
        self.backfilled.update(map(str, run_dirs))
        loop = asyncio.get_running_loop()
        ready: asyncio.Queue[list[tuple[Any, str]] | None] = asyncio.Queue()

        def read_all() -> None:
            try:
                for run_dir in run_dirs:
                    loop.call_soon_threadsafe(ready.put_nowait, backfill.read_run(run_dir))
            finally:
                loop.call_soon_threadsafe(ready.put_nowait, None)

        reader = asyncio.ensure_future(asyncio.to_thread(read_all))
        while (msgs := await ready.get()) is not None:
            self._ingest_run(msgs)
            await asyncio.sleep(0)
        await reader

    def _ingest_run(self, msgs: list[tuple[Any, str]]) -> None:
        shown = self.state.view.current  # a job from the past must not take the screen
        streams = set()
        for msg, stream in msgs:
            self._ingest(msg, stream)
            streams.add(stream)
        for stream in streams & set(self.state.streams):
            self.state.set_connection(stream, "closed")
        self.state.view.current = shown or self.state.view.current

    async def follow(self, stream: str) -> None:
        """One stream: connect, ingest until EOF, reconnect until the rank finished."""
        attempts = 0
        while not self.stopping:
            self._condition(stream, "connecting" if attempts == 0 else "reconnecting")
            try:
                client = await self.connect(stream)
            except Exception as exc:
                attempts += 1
                if attempts == 1 and stream not in self.state.streams and self.group is None:
                    self.post(SourceFailed(f"cannot attach to {stream or 'a job'}: {exc}"))
                    return
                if self._gone(stream, attempts):
                    self._condition(stream, "closed", str(exc))
                    return
                await asyncio.sleep(min(5.0, self.retry_s * attempts))
                continue
            attempts = 1
            self.clients[stream] = client
            self._ingest(
                {"type": "hello", "t": time.time(), "seq": 0, "payload": client.hello}, stream
            )
            self._condition(stream, "live")
            try:
                async for msg in client:
                    self._ingest(msg, stream)
            except Exception as exc:
                log.debug("stream %s broke: %s", stream, exc)
            finally:
                self.clients.pop(stream, None)
                await _close(client)
            if self._rank_finished(stream):
                self._condition(stream, "closed")
                return

    def _ingest(self, msg: Any, stream: str) -> None:
        kind = fields(msg)[0]
        # only these can finish a job: metrics, progress and logs skip the check
        check = kind in FINISHING
        was = check and self._job_finished(stream)
        self.state.ingest(msg, stream)
        self.announce_values(kind, stream)
        if kind == "snapshot":
            self.post(SnapshotLoaded(stream))
        if check and not was and self._job_finished(stream):
            self.post(JobFinished(self.state.streams[stream][0]))

    def _job_finished(self, stream: str) -> bool:
        key = self.state.streams.get(stream)
        job = self.state.jobs.get(key[0]) if key else None
        return bool(job and job.finished)

    def _rank_finished(self, stream: str) -> bool:
        key = self.state.streams.get(stream)
        job = self.state.jobs.get(key[0]) if key else None
        return bool(job and key and job.rank(key[1]).finished)

    def _gone(self, stream: str, attempts: int) -> bool:
        """A job whose registry entry vanished is over; keep retrying otherwise (remote, slow)."""
        if stream.startswith("ssh://") or "/" in stream:
            return attempts > 20
        try:
            from ocrtop.bridge.registry import list_jobs

            return all(j.job_id != stream for j in list_jobs()) and attempts > 2
        except Exception:
            return attempts > 20

    def _condition(self, stream: str, condition: str, detail: str = "") -> None:
        self.state.set_connection(stream, condition)
        self.post(ConnectionChanged(stream, condition, detail))

    def streams_of_current_job(self, rank: int | None = None) -> list[str]:
        """Connected streams of the job on screen (one rank, or all of them)."""
        return [
            s
            for s, (job, r) in self.state.streams.items()
            if job == self.state.view.current and s in self.clients and (rank is None or r == rank)
        ]

    async def send(self, command: str, rank: int | None = None, **args: Any) -> list[str]:
        """Send a command to the job on screen; returns the command ids that went out."""
        ids = []
        streams = self.streams_of_current_job(rank)
        if not streams:
            self.post(CommandFailed(command, "not connected to the job"))
        for stream in streams:
            try:
                ids.append(await self.clients[stream].send_command(command, **args))
            except Exception as exc:
                self.post(CommandFailed(command, str(exc)))
        return ids

    async def aclose(self) -> None:
        """Stop following and close every connection."""
        self.stopping = True
        for task in self.tasks.values():
            task.cancel()
        for client in list(self.clients.values()):
            await _close(client)


async def _close(client: Any) -> None:
    close = getattr(client, "close", None)
    if close is None:
        return
    try:
        result = close()
        if inspect.isawaitable(result):
            await result
    except Exception as exc:
        log.debug("closing a client failed: %s", exc)
