"""Header bar: which job, how far along, how long left, and whether the data is live.

It is redrawn on every tick (not only on new messages) because elapsed time, ETA and
the connection state must move even when the trainer is silent.
"""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from ocrtop.tui.core import derive
from ocrtop.tui.core.fmt import duration
from ocrtop.tui.core.state import AppState

STATUS_STYLE = {
    "train": "bold green",
    "validate": "bold cyan",
    "test": "bold cyan",
    "setup": "bold blue",
    "done": "bold white on green",
    "failed": "bold white on red",
    "stopped": "bold black on yellow",
}
CONNECTION_STYLE = {
    "live": "green",
    "reconnecting": "bold yellow",
    "connecting": "yellow",
    "closed": "dim",
    "replay": "cyan",
    "paused": "bold cyan",
}


class HeaderBar(Static):
    """Two lines: identity and position on the first, timing and health on the second."""

    _shown = ""

    def refresh_from(self, state: AppState) -> None:
        """Rebuild from the state; repaint only when the text changed (about once a second)."""
        text = self.build(state)
        if text.plain != self._shown:
            self._shown = text.plain
            self.update(text, layout=False)

    def build(self, state: AppState) -> Text:
        """The header text for the current state."""
        job = state.job
        if job is None:
            return Text(f" ocrtop  {state.notice or 'waiting for a job…'}", style="bold")
        rank = state.rank or job.primary
        meta = {**job.hello.get("meta", {}), **job.primary.status_payload}
        top = Text(" ocrtop ", style="bold reverse")
        top.append(f" {job.job_id}", style="bold")
        top.append(f"  {meta.get('experiment_name', '?')} · {meta.get('arch', '?')}")
        if len(state.jobs) > 1:
            top.append(
                f"  job {list(state.jobs).index(job.key) + 1}/{len(state.jobs)} [ ]", style="dim"
            )
        if job.world_size > 1:
            view = "all ranks" if state.view.rank_view is None else f"rank {state.view.rank_view}"
            top.append(f"  {view} of {job.world_size} (r)", style="dim")
            for named in sorted(derive.stragglers(job)):
                top.append(f"  straggler: rank {named}", style="bold red")
        prog = rank.progress
        epochs = prog.get("max_epochs") or meta.get("max_epochs")
        total = derive.total_steps(rank)
        bottom = Text(" ")
        bottom.append(f"epoch {prog.get('epoch', '—')}/{epochs or '?'}  ")
        bottom.append(f"step {prog.get('step', '—')}/{total or '?'}  ")
        bottom.append(f"elapsed {duration(derive.elapsed_seconds(rank, state.now()))}  ")
        bottom.append(f"ETA {duration(derive.eta_seconds(rank))}  ")
        status = job.status
        bottom.append(f" {status} ", style=STATUS_STYLE.get(status, "bold"))
        code = job.final_exit_code
        if job.finished and code is not None:
            bottom.append(f" exit {code}", style="bold")
        conn = "replay" if state.replay_time is not None else job.connection
        bottom.append(f"  {conn}", style=CONNECTION_STYLE.get(conn, ""))
        dropped = sum(r.dropped for r in job.ranks.values())
        bottom.append(f"  dropped {dropped}", style="bold red" if dropped else "dim")
        if state.notice:
            bottom.append(f"  {state.notice}", style="italic")
        top.append("\n")
        top.append_text(bottom)
        return top
