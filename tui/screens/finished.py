"""The overlay shown when the job ends: how it ended and why, until dismissed.

A finished run is exactly when the user looks away, so the dashboard stays on screen
behind it rather than exiting and losing the final figures. A failure's reason can be
long (a path, a multi-line config error, the end of the traceback), so the text scrolls
(arrows, PgUp/PgDn, Home/End, the mouse wheel) and is never cut off; the reason comes
first, right under the headline, so it is on screen without scrolling.
"""

from __future__ import annotations

from typing import ClassVar

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ocrtop.bridge import names
from ocrtop.tui.core import derive, outcome
from ocrtop.tui.core.fmt import duration
from ocrtop.tui.core.state import AppState, JobState


def summary(job: JobState, state: AppState) -> str:
    """How the job ended (headline, reason, figures, run dir, traceback tail), as markup."""
    rank = job.primary
    hmean: dict[int, float] = rank.per_epoch.get(names.VAL_HMEAN) or {}
    color = "green" if job.status == "done" and job.final_exit_code in (0, None) else "red"
    lines = [f"[b {color}]job {escape(job.job_id)} finished: {escape(outcome.headline(job))}[/]"]
    lines += [f"[{color}]{escape(line)}[/]" for line in outcome.reason_lines(job)]
    lines.append(
        f"step {rank.progress.get('step', '—')}  elapsed "
        f"{duration(derive.elapsed_seconds(rank, state.now()))}"
    )
    if hmean:
        lines.append(f"best val/hmean {max(hmean.values()):.3f}")
    test_hmean = rank.value(names.TEST_HMEAN)
    if test_hmean is not None:
        lines.append(f"test/hmean {test_hmean:.4f}")
    if rank.hello.get("run_dir"):
        lines.append(f"run dir {escape(str(rank.hello['run_dir']))}")
    traceback = rank.status_payload.get("traceback")
    if traceback and job.status == "failed":
        lines.append("\n[dim]traceback (end):[/dim]")
        lines.append(f"[dim]{escape(str(traceback).rstrip())}[/dim]")
    return "\n".join(lines)


class JobFinishedScreen(ModalScreen[str]):
    """Final status, exit code and reason; Enter/Escape returns to the dashboard, q quits."""

    DEFAULT_CSS = """
    #finished-scroll { height: auto; max-height: 70vh; }
    #finished-keys { margin-top: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "dismiss('stay')", "back", show=False),
        Binding("q", "dismiss('quit')", "quit", show=False),
    ]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        """The summary in a scrolling box, the keys below it (always visible)."""
        with Vertical(id="dialog"):
            with VerticalScroll(id="finished-scroll"):
                yield Static(self.text, id="finished")
            yield Static(
                "[dim]↑/↓ PgUp/PgDn: scroll   Enter/Esc: back to the dashboard   q: quit[/dim]",
                id="finished-keys",
            )

    def on_mount(self) -> None:
        """Focus the scroll box so the arrow keys scroll it."""
        self.query_one("#finished-scroll", VerticalScroll).focus()
