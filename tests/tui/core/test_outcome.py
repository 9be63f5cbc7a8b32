"""How a job ended, as the finished dialog and headless mode say it (``tui/outcome.py``)."""

from __future__ import annotations

import io
from pathlib import Path

from ocrtop.tui.core import outcome
from ocrtop.tui.core.events import JobFinished
from ocrtop.tui.core.state import AppState
from ocrtop.tui.core.supervise import Supervisor
from ocrtop.tui.headless import HeadlessPrinter
from tests.helpers.streams import T0, StreamBuilder


class DeadChild:
    """A trainer child that has exited with ``code`` (``-N``: killed by signal N)."""

    def __init__(self, code: int, tail: list[str] | None = None) -> None:
        self.code, self.lines = code, tail or []
        self.stop_requested_at = None
        self.log_path = Path("outputs/.ocrtop/g/train.log")

    def poll(self) -> int:
        return self.code

    def escalate(self, *args: float) -> None:
        return None

    def link_log(self, run_dir: str) -> None:
        pass

    def tail(self, lines: int = 20) -> list[str]:
        return self.lines[-lines:]


def _state(*statuses: dict) -> AppState:
    state, b = AppState(), StreamBuilder()
    state.ingest(b.hello(), "s")
    state.ingest(b.msg("status", T0 + 1, {"status": "train"}), "s")
    for i, payload in enumerate(statuses):
        state.ingest(b.msg("status", T0 + 2 + i, payload), "s")
    return state


def test_a_trainer_killed_by_sigkill_is_killed_with_the_signal_not_exit_minus_9() -> None:
    state = _state()  # training, then nothing: SIGKILL leaves no final event
    sup = Supervisor(DeadChild(-9), state)
    key = sup.check()
    assert key is not None and sup.exit_code() == 137
    job = state.jobs[key]
    assert outcome.headline(job) == "killed by SIGKILL (exit code 137)"
    assert "killed by SIGKILL" in state.notice and "-9" not in state.notice


def test_a_failure_names_type_message_and_file_in_headless_output() -> None:
    error = "FileNotFoundError: [Errno 2] No such file: 'ds/train/images/a.png'"
    state = _state({"status": "failed", "exit_code": 1, "error": error, "where": "ds/x.png"})
    out = io.StringIO()
    printer = HeadlessPrinter(state, out)
    printer.on_message(JobFinished(next(iter(state.jobs))))
    text = out.getvalue()
    assert "finished: failed (exit code 1)" in text
    assert error in text and "at ds/x.png" in text


def test_a_stop_says_by_what_and_where_the_checkpoint_is() -> None:
    state = _state(
        {"status": "stopped", "exit_code": 143, "reason": "SIGTERM", "checkpoint": "c/s.ckpt"}
    )
    job = next(iter(state.jobs.values()))
    assert outcome.headline(job) == "stopped by SIGTERM (exit code 143)"
    assert outcome.reason_lines(job) == ["checkpoint c/s.ckpt (resume: ckpt_path=c/s.ckpt)"]
    assert outcome.exit_code(state) == 143


def test_a_trainer_that_died_before_publishing_shows_the_runners_last_lines() -> None:
    tail = ["Traceback ...", "error: trainer.max_epochs: 'abc' is not an integer",
            "ocrtop: bad config or input (exit code 2)"]  # fmt: skip
    state = AppState()
    sup = Supervisor(DeadChild(2, tail), state)
    key = sup.check()
    assert key is not None
    job = state.jobs[key]
    assert job.status == "failed" and sup.exit_code() == 2
    assert outcome.reason_lines(job) == tail[1:]


def test_attach_and_replay_exit_with_the_jobs_code() -> None:
    assert outcome.exit_code(_state({"status": "done", "exit_code": 0})) == 0
    assert outcome.exit_code(_state({"status": "failed", "exit_code": 1})) == 1
    assert outcome.exit_code(_state()) == 0  # attach: leaving a running job is no failure
    assert outcome.exit_code(_state(), unfinished=1) == 1  # replay: the recording just ends


def test_a_stop_timeout_is_announced_once_with_the_signal_sent() -> None:
    class Slow(DeadChild):
        def __init__(self) -> None:
            super().__init__(0)
            self.sent = ["SIGTERM"]

        def poll(self) -> None:  # type: ignore[override]
            return None

        def escalate(self, *args: float) -> str | None:  # type: ignore[override]
            return self.sent.pop() if self.sent else None

    state = _state()
    sup = Supervisor(Slow(), state)
    sup.check()
    sup.check()
    assert sup.announcements() == [
        "the stop did not finish in time: SIGTERM sent to the trainer's group"
    ]
    assert sup.announcements() == []


def test_bad_config_says_so_in_the_headline_not_just_its_code() -> None:
    error = "TypeError: SyntheticPages.__init__() got an unexpected keyword argument 'path'"
    state = _state({"status": "failed", "exit_code": 2, "error": error})
    job = next(iter(state.jobs.values()))
    assert outcome.headline(job) == "failed: bad config or input (exit code 2)"
    failed = _state({"status": "failed", "exit_code": 1, "error": "RuntimeError: boom"})
    assert outcome.headline(next(iter(failed.jobs.values()))) == "failed (exit code 1)"
