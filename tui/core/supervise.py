"""Watching the trainer child of ``ocrtop train``, for the dashboard and headless mode alike.

The child's exit is the one event the bridge cannot report (a trainer that dies before
its publisher starts says nothing), so the supervisor turns it into state: the exit
code on the job, the tail of the log when nothing was published, and the stop timeout's
escalation to signals.
"""

from __future__ import annotations

import time
from typing import Any

from ocrtop.bridge import exitcodes
from ocrtop.tui.core.outcome import reason_from_log
from ocrtop.tui.core.state import AppState

STOP_TERM_AFTER = 30.0
"""Seconds after a graceful stop request before the child's group gets SIGTERM."""
STOP_KILL_AFTER = 45.0
"""... and SIGKILL."""


class Supervisor:
    """Links run-dir logs, escalates stops, and records the child's exit in the state."""

    def __init__(self, child: Any, state: AppState) -> None:
        self.child, self.state = child, state
        self.exited: int | None = None
        self._announce: list[str] = []

    def announcements(self) -> list[str]:
        """One-off lines for headless mode (an escalation), each returned once."""
        out, self._announce = self._announce, []
        return out

    @property
    def running(self) -> bool:
        """True while the child process lives."""
        return self.child.poll() is None

    def request_stop(self) -> None:
        """Start the stop clock (the caller sends the graceful stop command)."""
        self.child.stop_requested_at = time.monotonic()
        self.state.notice = f"stopping… (SIGTERM after {STOP_TERM_AFTER:.0f} s)"
        self.state.touch()

    def check(self) -> str | None:
        """One supervision step; returns the key of the job that ended with the child, once."""
        child = self.child
        for known in self.state.jobs.values():
            child.link_log(str(known.hello.get("run_dir") or ""))
        escalated = child.escalate(time.monotonic(), STOP_TERM_AFTER, STOP_KILL_AFTER)
        if escalated:
            self.state.notice = (
                f"the stop did not finish in time: {escalated} sent to the trainer's group"
            )
            self._announce.append(self.state.notice)
            self.state.touch()
        raw = child.poll()
        if raw is None or self.exited is not None:
            return None
        code = self.exited = exitcodes.from_returncode(raw)
        self.state.notice = f"trainer ended: {exitcodes.describe(code)} (log: {child.log_path})"
        if not self.state.jobs:  # died before publishing: its log says why
            rank = self.state.add_job("trainer").rank(0)
            tail = child.tail(15)
            for line in tail:
                rank.ingest("log", time.time(), None, None, {"level": "ERROR", "message": line})
            reason = reason_from_log(tail)
            status = {"status": "failed", "exit_code": code}
            if reason:
                status["error"] = "\n".join(reason)
            rank.ingest("status", time.time(), None, None, status)
        job = self.state.job
        self.state.touch()
        if job is None:
            return None
        job.exit_code, job.connection = code, "closed"
        return job.key

    def exit_code(self) -> int:
        """The child's exit code (a signal N as 128+N); a job's final status while unknown."""
        code = self.child.poll()
        if code is not None:
            return exitcodes.from_returncode(int(code))
        job = self.state.job
        return 0 if job is None or not job.finished or job.status == "done" else 1
