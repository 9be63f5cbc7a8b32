"""Keys: quit dialog and Ctrl-C under ``ocrtop train``, help, panels, filter, jobs, picker."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from ocrtop.tui.app import OcrtopApp
from ocrtop.tui.core.state import AppState
from ocrtop.tui.screens.choice import ChoiceScreen
from ocrtop.tui.screens.help import HelpScreen
from ocrtop.tui.screens.picker import JobPickerScreen
from tests.helpers.streams import T0, StreamBuilder, make_stream
from tests.helpers.tui_fakes import RecordedFeed, panel_text


class FakeChild:
    """The parts of ``ocrtop.tui.core.child.Child`` the app uses, without a process."""

    def __init__(self) -> None:
        self.code: int | None = None
        self.stop_requested_at: float | None = None
        self.signals: list[int] = []
        self.log_path = Path("outputs/.ocrtop/g/train.log")

    def poll(self) -> int | None:
        return self.code

    def signal_group(self, sig: int = 15) -> None:
        self.signals.append(sig)

    def escalate(self, now: float, term_after: float, kill_after: float) -> None:
        pass

    def link_log(self, run_dir: str) -> None:
        pass

    def tail(self, lines: int = 20) -> list[str]:
        return ["Traceback: boom"]


def make_app(mode: str = "train", child: FakeChild | None = None, **kw: Any) -> OcrtopApp:
    state = AppState(clock=lambda: T0 + 30)
    msgs = [(m, "a") for m in make_stream(steps=25)]
    msgs += [(m, "b") for m in make_stream(steps=5, builder=StreamBuilder(job_id="sweep-2"))]
    return OcrtopApp(state, lambda post: RecordedFeed(state, msgs), mode=mode, child=child,  # type: ignore[arg-type]
                     tick_hz=20, **kw)  # fmt: skip


async def test_q_offers_detach_stop_cancel_and_stop_sends_the_command() -> None:
    child = FakeChild()
    app = make_app(child=child)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("q")
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("c")
        assert app.screen is app.dashboard and app.is_running
        await pilot.press("q", "s")
        await pilot.pause(0.1)
        assert app.feed.sent == [("stop", {"mode": "graceful"})]
        assert child.stop_requested_at is not None and "stopping" in app.state.notice
        await pilot.press("ctrl+c")
        assert isinstance(app.screen, ChoiceScreen) and "Stop training?" in app.screen.question
        await pilot.press("n")
        await pilot.press("q", "d")
        await pilot.pause(0.1)
    assert app.outcome == "detach" and app.return_value == 0


async def test_child_exit_shows_the_exit_code_and_q_returns_it() -> None:
    child = FakeChild()
    app = make_app(child=child)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause(0.1)
        child.code = 3
        await pilot.pause(0.2)
        assert "exit code 3" in getattr(app.screen, "text", "")
        await pilot.press("q")
    assert app.return_value == 3


async def test_view_keys_help_panels_filter_jobs_and_window() -> None:
    app = make_app(mode="attach")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.1)
        state = app.state
        assert state.job is not None and state.job.job_id == "sweep-2"
        await pilot.press("left_square_bracket")
        assert state.job.job_id != "sweep-2" and not state.view.follow
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("x")
        assert app.screen is app.dashboard
        await pilot.press("6")
        assert app.screen.focused is app.dashboard.query_one("#log")
        await pilot.press("m")
        assert app.dashboard.maximized is app.dashboard.query_one("#log")
        await pilot.press("m")
        assert app.dashboard.maximized is None
        await pilot.press("slash", *"hmean")
        await pilot.pause(0.1)
        log = panel_text(app, "log")
        assert state.view.log_filter == "hmean"
        assert "val/hmean=0.200" in log and "dataset" not in log
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert state.view.log_filter == "" and "dataset" in panel_text(app, "log")
        before = state.view.window_s
        await pilot.press("w")
        assert state.view.window_s != before
        await pilot.press("q")
    assert app.return_value == 0


async def test_picker_chooses_the_job_to_follow() -> None:
    entries = [SimpleNamespace(job_id=j, rank=0, world_size=1, host="h", start_time=T0,
                               run_dir=f"outputs/{j}") for j in ("aaa", "bbb")]  # fmt: skip
    app = make_app(mode="attach", picker=entries)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.1)
        assert isinstance(app.screen, JobPickerScreen)
        await pilot.press("down", "enter")
        await pilot.pause(0.1)
        assert app.feed.target == "bbb" and app.screen is app.dashboard
        assert app.state.job is not None
