"""The dashboard app: wires a feed, the state and the screens together.

The feed task writes into :class:`AppState`; a timer redraws visible panels a few times
per second; key bindings turn into commands for the trainer. What a key may do is asked
of the feed's capabilities. Everything else lives in the widgets, screens and feeds
(``ocrtop.tui.core``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import App
from textual.binding import Binding, BindingType
from textual.widgets import Input

from ocrtop.tui.adapter import FeedMessage, poster
from ocrtop.tui.core.child import Child
from ocrtop.tui.core.events import (
    CommandFailed,
    ConnectionChanged,
    JobFinished,
    SnapshotLoaded,
    SourceFailed,
    ValuesArrived,
)
from ocrtop.tui.core.feeds.base import Feed, Post
from ocrtop.tui.core.state import AppState
from ocrtop.tui.core.supervise import Supervisor
from ocrtop.tui.screens.choice import QUIT_CHOICES, STOP_CHOICES, ChoiceScreen
from ocrtop.tui.screens.dashboard import DashboardScreen
from ocrtop.tui.screens.finished import JobFinishedScreen, summary
from ocrtop.tui.screens.help import HelpScreen
from ocrtop.tui.screens.picker import JobPickerScreen
from ocrtop.tui.screens.sweep import SweepScreen
from ocrtop.tui.widgets.log_filter import LogFilter

TICK_HZ = 4.0

MakeFeed = Callable[[Post], Feed]
"""Builds the app's feed around the ``post`` that queues its events on the app."""


class OcrtopApp(App[int]):
    """Live (train/attach) or replay dashboard over one state and one feed."""

    CSS_PATH = "app.tcss"
    TITLE = "ocrtop"
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "profile", "profile"),
        Binding("q", "quit_dialog", "quit"),
        Binding("ctrl+c", "interrupt", "stop", priority=True),
        Binding("question_mark", "help", "help"),
        Binding("m", "toggle_maximize", "maximise"),
        Binding("w", "window", "window"),
        Binding("slash", "filter_log", "filter"),
        Binding("left_square_bracket", "job(-1)", "prev job"),
        Binding("right_square_bracket", "job(1)", "next job"),
        Binding("r", "rank", "rank"),
        Binding("s", "sweep", "sweep", show=False),
        Binding("space", "pause", "pause", show=False),
        Binding("full_stop", "step", "step", show=False),
        Binding("plus", "speed(1)", "faster", show=False),
        Binding("minus", "speed(-1)", "slower", show=False),
        *(Binding(str(i), f"focus_panel({i})", show=False) for i in range(1, 7)),
    ]

    def __init__(
        self,
        state: AppState,
        make_feed: MakeFeed,
        mode: str = "attach",
        profile_steps: int = 20,
        child: Child | None = None,
        tick_hz: float = TICK_HZ,
        picker: list[Any] | None = None,
    ) -> None:
        super().__init__()
        self.state, self.mode = state, mode
        self.supervisor = Supervisor(child, state) if child is not None else None
        self.profile_steps, self.tick_hz = profile_steps, tick_hz
        self.feed = make_feed(poster(self))
        self.dashboard = DashboardScreen(profile_steps, mode, state.readonly)
        self.announced: set[str] = set()
        self.outcome = "quit"
        self.picker = picker

    def on_mount(self) -> None:
        """Show the dashboard at once, then start feeding it (after the picker, if any)."""
        self.push_screen(self.dashboard)
        self.set_interval(1.0 / self.tick_hz, self.tick)
        if self.picker:
            self.push_screen(JobPickerScreen(self.picker), self._picked)
        else:
            self.run_worker(self.feed.run(), name="feed", exit_on_error=False)

    def _picked(self, job_id: str | None) -> None:
        if job_id is None:
            self.exit(0)
            return
        self.feed.choose(job_id)
        self.run_worker(self.feed.run(), name="feed", exit_on_error=False)

    def tick(self) -> None:
        """Redraw from the state; watch the child of ``ocrtop train``."""
        if self.supervisor is not None and (ended := self.supervisor.check()):
            self.post_message(FeedMessage(JobFinished(ended)))
        self.dashboard.refresh_from(self.state)

    def on_feed_message(self, message: FeedMessage) -> None:
        """Hand each feed event to the method that reacts to its kind."""
        event = message.event
        if isinstance(event, JobFinished):
            self.job_finished(event)
        elif isinstance(event, ConnectionChanged | SnapshotLoaded | ValuesArrived):
            # a lost connection shows at once; a late joiner's first full frame and the
            # first values of a job do not wait for a tick
            self.dashboard.refresh_from(self.state)
        elif isinstance(event, SourceFailed):
            self.source_failed(event)
        elif isinstance(event, CommandFailed):
            self.notify(f"{event.command}: {event.error}", severity="warning")

    def job_finished(self, event: JobFinished) -> None:
        """Show the final status once per job (the job on screen only)."""
        job = self.state.jobs.get(event.job_key)
        shown = event.job_key == self.state.view.current
        if job is None or event.job_key in self.announced or not shown:
            return
        if self.supervisor is not None and job.exit_code is None and self.supervisor.running:
            return  # the trainer still runs (sweep, teardown): wait for its exit code
        self.announced.add(event.job_key)
        self.push_screen(JobFinishedScreen(summary(job, self.state)), self._after_finished)

    def _after_finished(self, answer: str | None) -> None:
        if answer == "quit":
            self._exit_with_child_code()

    def source_failed(self, event: SourceFailed) -> None:
        """Say why nothing will arrive; the user quits with q."""
        self.state.notice = event.error
        self.state.touch()
        self.notify(event.error, severity="error", timeout=10)

    async def action_profile(self) -> None:
        """Profile the next N steps of the job (or of the rank) on screen."""
        rank = self.state.rank
        if not self.feed.capabilities.commands or rank is None:
            self.notify("read-only: commands are disabled", severity="warning")
            return
        rank.profile.state, rank.profile.steps = "requested", self.profile_steps
        self.state.touch()
        await self.feed.send("profile", rank=self.state.view.rank_view, steps=self.profile_steps)

    def _training(self) -> bool:
        return self.mode == "train" and self.supervisor is not None and self.supervisor.running

    def action_quit_dialog(self) -> None:
        """``q``: under ``ocrtop train`` ask detach/stop/cancel; elsewhere just quit."""
        if not self._training():
            self._exit_with_child_code()
            return
        self.push_screen(ChoiceScreen("Leave the dashboard?", QUIT_CHOICES), self._after_choice)

    def action_interrupt(self) -> None:
        """Ctrl-C: confirm, then stop like the dialog's stop."""
        if not self._training():
            self._exit_with_child_code()
            return
        self.push_screen(ChoiceScreen("Stop training?", STOP_CHOICES), self._after_choice)

    async def _after_choice(self, answer: str | None) -> None:
        if answer == "detach":
            self.outcome = "detach"
            self.exit(0)
        elif answer == "stop" and self.supervisor is not None:
            self.supervisor.request_stop()
            # read-only sends no commands; with no connection there is nobody to ask either
            commands = self.feed.capabilities.commands
            if not commands or not await self.feed.send("stop", mode="graceful"):
                self.supervisor.child.signal_group()

    def _exit_with_child_code(self) -> None:
        self.exit(self.supervisor.exit_code() if self.supervisor else 0)

    def action_help(self) -> None:
        """Show the key reference."""
        self.push_screen(HelpScreen())

    def action_focus_panel(self, index: int) -> None:
        """Number keys focus a panel."""
        panels = self.dashboard.panels
        if 1 <= index <= len(panels):
            panels[index - 1].focus()

    def action_toggle_maximize(self) -> None:
        """Maximise the focused panel, or restore the grid."""
        screen = self.dashboard
        if screen.maximized is not None:
            screen.minimize()
        elif screen.focused is not None:
            screen.maximize(screen.focused)
        screen.refresh_from(self.state)

    def action_window(self) -> None:
        """Cycle the history window."""
        self.state.cycle_window()

    def action_filter_log(self) -> None:
        """Open the log filter prompt."""
        prompt = self.dashboard.query_one(LogFilter)
        prompt.display = True
        prompt.focus()

    def on_input_changed(self, event: Input.Changed) -> None:
        """Filter while typing."""
        self.state.view.log_filter = event.value
        self.state.touch()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter keeps the filter and hides the prompt."""
        event.input.display = False
        self.dashboard.panels[-1].focus()

    def action_job(self, delta: int) -> None:
        """Previous/next job of a sweep."""
        self.state.cycle_job(delta)

    def action_sweep(self) -> None:
        """The sweep table; the job picked there goes on screen."""
        self.push_screen(SweepScreen(self.state), self._show_job)

    def _show_job(self, key: str | None) -> None:
        if key is not None:
            self.state.show_job(key)

    def action_rank(self) -> None:
        """Cycle the DDP rank view."""
        self.state.cycle_rank()

    def action_pause(self) -> None:
        """Replay: pause/continue."""
        if self.feed.capabilities.playback:
            self.feed.toggle_pause()

    def action_step(self) -> None:
        """Replay: one message."""
        if self.feed.capabilities.playback:
            self.feed.step()

    def action_speed(self, delta: int) -> None:
        """Replay: faster/slower."""
        if self.feed.capabilities.playback:
            self.feed.faster(delta)
