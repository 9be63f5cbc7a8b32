"""Headless mode: the same state model, printed as compact lines instead of drawn.

Used when there is no terminal (CI, ``make demo`` in a pipe) or with ``--headless``: a
status line every few seconds, plus every alert transition and every profiling result
as soon as it arrives, and the job's exit code as the process's.
"""

from __future__ import annotations

import time
from typing import Any, TextIO

from ocrtop.bridge import names
from ocrtop.tui.core import derive, outcome
from ocrtop.tui.core.events import (
    CommandFailed,
    ConnectionChanged,
    FeedEvent,
    JobFinished,
    SourceFailed,
)
from ocrtop.tui.core.feeds.base import Feed
from ocrtop.tui.core.fmt import duration, human_bytes, num, short
from ocrtop.tui.core.state import AppState, JobState
from ocrtop.tui.core.supervise import Supervisor
from ocrtop.tui.core.sweep import table_lines


def status_line(state: AppState, job: JobState) -> str:
    """``[0:01:05] job e 1/3 s 45/60 16.0 sps wait p95 92ms loss 0.42 ...`` for one job."""
    r = job.primary
    prog, total = r.progress, derive.total_steps(r)
    parts = [
        f"[{duration(derive.elapsed_seconds(r, state.now()))}] {job.job_id} {job.status}",
        f"epoch {prog.get('epoch', '—')}/{prog.get('max_epochs') or '?'}",
        f"step {prog.get('step', '—')}/{total or '?'}",
        f"{num(r.value(names.SAMPLES_PER_SECOND))} samples/s",
        f"wait p95 {num(r.value(names.DATA_WAIT_MS_P95))}ms",
        f"loss {short(r.value(loss) if (loss := derive.loss_name(r)) else None)}",
    ]
    val = derive.val_metric(r)
    val_values = derive.val_history(r, val) if val else {}
    if val and val_values:
        parts.append(f"{val} {list(val_values.values())[-1]:.3f}")
    parts.append(f"cpu {num(r.value(names.CPU_PERCENT), 0)}%")
    label, held = derive.host_memory(r)
    parts.append(f"{label} {human_bytes(held)}")
    for i in derive.gpu_indices(r):
        parts.append(f"gpu{i} {num(r.value(names.gpu(i, 'util')), 0)}%")
    verdict = derive.verdict(r)
    if verdict:
        parts.append(verdict.label)
    parts.append(f"ETA {duration(derive.eta_seconds(r))}")
    if len(job.ranks) > 1:
        parts.append(f"{len(job.ranks)} ranks")
    return "  ".join(parts)


def is_sweep(state: AppState) -> bool:
    """Several jobs, or one that Hydra started as a multirun job."""
    return len(state.jobs) > 1 or any(
        "sweep_job" in (job.hello.get("meta") or {}) for job in state.jobs.values()
    )


def ranks_line(job: JobState) -> str:
    """``[ranks] r0 4.5 sps wait p95 34ms step 443ms own 330ms | r1 ... STRAGGLER`` (DDP)."""
    parts = []
    for r in derive.rank_rows(job):
        text = (
            f"r{r.rank} {num(r.samples_per_s)} samples/s wait p95 {num(r.data_wait_p95)}ms "
            f"step {num(r.step_ms, 0)}ms own {num(r.own_step_ms, 0)}ms "
            f"mem {human_bytes(r.memory)}"
        )
        parts.append(text + (" STRAGGLER" if r.straggler else ""))
    return "[ranks] " + " | ".join(parts)


class HeadlessPrinter:
    """Prints status lines on an interval and alerts/profiles as they happen."""

    def __init__(self, state: AppState, out: TextIO, interval: float = 5.0) -> None:
        self.state, self.out, self.interval = state, out, interval
        self.next_status = 0.0
        self.last_notice = ""
        self.last_line = ""
        self.last_sweep: list[str] = []
        self.alerts_seen: dict[tuple[str, int], int] = {}
        self.profiles_seen: dict[tuple[str, int], float] = {}
        self.announced: set[str] = set()

    def say(self, text: str) -> None:
        """One line, flushed (pipes and CI logs must see it now)."""
        print(text, file=self.out, flush=True)

    def on_message(self, msg: FeedEvent) -> None:
        """Feed events: connection changes, failures, finished jobs."""
        if isinstance(msg, ConnectionChanged) and msg.condition in ("reconnecting", "closed"):
            self.say(f"[ocrtop] {msg.stream}: {msg.condition} {msg.detail}".rstrip())
        elif isinstance(msg, SourceFailed):
            self.say(f"[ocrtop] error: {msg.error}")
        elif isinstance(msg, CommandFailed):
            self.say(f"[ocrtop] {msg.command} failed: {msg.error}")
        elif isinstance(msg, JobFinished) and msg.job_key in self.state.jobs:
            job = self.state.jobs[msg.job_key]
            self.tick(force=True)
            self.finished(job)
            if is_sweep(self.state):
                self.sweep_table()

    def finished(self, job: JobState) -> None:
        """``job X finished: failed (exit code 1)`` and the reason, once per job and outcome."""
        text = f"[ocrtop] job {job.job_id} finished: {outcome.headline(job)}"
        if text in self.announced:
            return
        self.announced.add(text)
        self.say(text)
        for line in outcome.reason_lines(job):
            self.say(f"[ocrtop]   {line}")

    def scores(self) -> None:
        """The test scores of every job that has them, as ``train.py`` prints them.

        Scripts and CI grep ``test/hmean: X``; a headless ``ocrtop train`` must end with it
        even though the trainer's own stdout goes to its log file.
        """
        for job in self.state.jobs.values():
            r = job.primary
            hmean = r.value(names.TEST_HMEAN)
            if hmean is None:
                continue
            p, rec = r.value(names.TEST_PRECISION), r.value(names.TEST_RECALL)
            extra = f"  (precision {num(p, 4)}, recall {num(rec, 4)})" if p is not None else ""
            self.say(f"[{job.job_id}] test/hmean: {hmean:.4f}{extra}")

    def sweep_table(self) -> None:
        """The sweep so far, one ``[sweep]`` line per job (after each job finishes)."""
        rows = derive.sweep_rows(self.state.jobs, self.state.now())
        lines = table_lines(rows, self.state.view.current)
        # fit and test of a job each end in "done", and the exit repeats the last table
        if lines == self.last_sweep:
            return
        self.last_sweep = lines
        for line in lines:
            self.say(f"[sweep] {line}")

    def tick(self, force: bool = False) -> None:
        """Print what is new; the status line when the interval has passed (or forced)."""
        for key, job in self.state.jobs.items():
            for rank in job.ranks.values():
                self._alerts(key, rank.rank, job)
                self._profile(key, rank.rank, job)
        now = time.monotonic()
        if force or now >= self.next_status:
            self.next_status = now + self.interval
            shown = self.state.job
            line = status_line(self.state, shown) if shown is not None and shown.ranks else ""
            if line:
                if line != self.last_line:  # a finished job does not repeat itself
                    self.say(line)
                    if shown is not None and len(derive.rank_rows(shown)) > 1:
                        self.say(ranks_line(shown))
                self.last_line = line
            elif self.state.notice and self.state.notice != self.last_notice:
                self.say(f"[ocrtop] {self.state.notice}")
            self.last_notice = self.state.notice

    def _alerts(self, key: str, rank_id: int, job: JobState) -> None:
        rank = job.ranks[rank_id]
        seen = self.alerts_seen.get((key, rank_id), 0)
        new = min(rank.alerts_total - seen, len(rank.alerts_recent))
        self.alerts_seen[(key, rank_id)] = rank.alerts_total
        for a in list(rank.alerts_recent)[len(rank.alerts_recent) - new :]:
            hint = f" — hint: {a.hint}" if a.hint and a.state == "firing" else ""
            self.say(f"[alert] {a.severity} {a.state} {a.code} (rank {a.rank}): {a.message}{hint}")

    def _profile(self, key: str, rank_id: int, job: JobState) -> None:
        prof = job.ranks[rank_id].profile
        if prof.result is None or prof.result_t == self.profiles_seen.get((key, rank_id)):
            return
        self.profiles_seen[(key, rank_id)] = prof.result_t or 0.0
        res = prof.result
        self.say(
            f"[profile] rank {rank_id}: {res.get('steps')} steps, trace {res.get('trace_path')}"
        )
        for op in (res.get("top_k") or [])[:10]:
            self.say(
                f"[profile]   {num(op.get('self_cpu_ms')):>9} ms cpu "
                f"{num(op.get('self_cuda_ms')):>9} ms cuda {op.get('calls', ''):>6}x "
                f"{op.get('name')}"
            )
        if res.get("summary"):
            self.say(f"[profile]   {res['summary']}")


async def run_headless(
    state: AppState,
    feed: Feed,
    printer: HeadlessPrinter,
    child: Any = None,
    tick_s: float = 0.25,
    unfinished_code: int = 0,
) -> int:
    """Drive ``feed`` until the child exits (train), or the jobs end (attach/replay).

    SIGINT asks the trainer to stop gracefully; the child's process group gets SIGTERM
    if it is still running after the stop timeout.

    Returns:
        The child's exit code (signal N as 128+N); otherwise the jobs' own exit code
        (``ocrtop.tui.core.outcome.exit_code``; an unfinished job counts as ``unfinished_code``), 1
        when there was no job at all.
    """
    import asyncio
    import contextlib
    import signal

    loop = asyncio.get_running_loop()
    task = asyncio.create_task(feed.run())
    sup = Supervisor(child, state) if child is not None else None
    pending: set[asyncio.Future[Any]] = set()

    def interrupt() -> None:
        if sup is None:
            task.cancel()
            return
        if child.stop_requested_at is not None:
            printer.say(
                "[ocrtop] second interrupt: SIGTERM to the trainer's process group "
                "(it stops now, without a checkpoint)"
            )
            child.signal_group(signal.SIGTERM)
            return
        printer.say(
            "[ocrtop] interrupt: asking the trainer to stop after this step, with a checkpoint "
            "(Ctrl-C again: stop now)"
        )
        sup.request_stop()
        # relayed as a Ctrl-C: the run ends (and ocrtop exits) with 130, as a shell expects
        pending.add(asyncio.ensure_future(feed.send("stop", mode="graceful", signal="SIGINT")))

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGINT, interrupt)
    try:
        while True:
            await asyncio.sleep(tick_s)
            printer.tick()
            if sup is not None:
                if child.poll() is not None and feed.capabilities.live:
                    await asyncio.sleep(tick_s)  # let the last messages land
                    await feed.catch_up()  # jobs that ended between two polls
                published = bool(state.jobs)
                sup.check()
                for line in sup.announcements():
                    printer.say(f"[ocrtop] {line}")
                if sup.exited is not None:
                    if published:
                        printer.tick(force=True)
                        if is_sweep(state):
                            printer.sweep_table()
                        printer.scores()
                    else:  # died before publishing: its log says why
                        for line in child.tail(15):
                            printer.say(f"[trainer] {line}")
                    if state.job is not None and state.job.ranks:
                        printer.finished(state.job)  # a killed trainer announces nothing
                    printer.say(f"[ocrtop] {state.notice}")
                    return sup.exited
            if sup is None and task.done() and (feed.done or not state.jobs):
                printer.tick(force=True)
                return outcome.exit_code(state, unfinished_code) if state.jobs else 1
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGINT)
        await feed.aclose()
        task.cancel()
