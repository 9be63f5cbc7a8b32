"""The overlay shown when the job ends: final status and exit code, until dismissed.

A finished run is exactly when the user looks away, so the dashboard stays on screen
behind it rather than exiting and losing the final figures.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Static

from bridge import names
from tui import derive
from tui.fmt import duration
from tui.state import AppState, JobState


def summary(job: JobState, state: AppState) -> str:
    """A few lines on how the job ended."""
    rank = job.primary
    code = job.final_exit_code
    hmean: dict[int, float] = rank.per_epoch.get(names.VAL_HMEAN) or {}
    lines = [
        f"[b]job {job.job_id} finished: {job.status}[/b]",
        f"exit code {code if code is not None else 'unknown'}",
        f"step {rank.progress.get('step', '—')}  elapsed "
        f"{duration(derive.elapsed_seconds(rank, state.now()))}",
    ]
    if hmean:
        lines.append(f"best val/hmean {max(hmean.values()):.3f}")
    test_hmean = rank.value(names.TEST_HMEAN)
    if test_hmean is not None:
        lines.append(f"test/hmean {test_hmean:.4f}")
    if rank.status_payload.get("error"):
        lines.append(f"[red]{rank.status_payload['error']}[/red]")
    if rank.hello.get("run_dir"):
        lines.append(f"run dir {rank.hello['run_dir']}")
    lines.append("\n[dim]Enter/Esc: back to the dashboard   q: quit[/dim]")
    return "\n".join(lines)


class JobFinishedScreen(ModalScreen[str]):
    """Final status and exit code; Enter/Escape returns to the dashboard, q quits."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,enter", "dismiss('stay')", "back", show=False),
        Binding("q", "dismiss('quit')", "quit", show=False),
    ]

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def compose(self) -> ComposeResult:
        """The summary."""
        with Vertical(id="dialog"):
            yield Static(self.text, id="finished")
