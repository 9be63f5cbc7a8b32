"""What is on screen, apart from what is known: the job and rank shown, the history
window, the log filter.

Kept apart from the jobs' data so a feed writes only data and a key writes only the
view; :class:`ocrtop.tui.core.state.AppState` owns one and bumps its version on every change,
which is what makes the panels redraw.
"""

from __future__ import annotations

from dataclasses import dataclass

WINDOWS: tuple[float | None, ...] = (60.0, 300.0, 900.0, None)
"""Selectable spans of the history graphs; None is the whole run."""


@dataclass
class ViewState:
    """The job and rank on screen and how their history is shown."""

    current: str | None = None
    """Key of the job on screen."""
    follow: bool = True
    """Show each new job as it appears (a sweep's newest), until the user picks one."""
    rank_view: int | None = None
    """The rank on screen; None is the merged view (the primary rank's gauges, all ranks'
    tables)."""
    window_s: float | None = WINDOWS[0]
    log_filter: str = ""

    def cycle_window(self) -> None:
        """Next time window of the history graphs (1 min, 5 min, 15 min, whole run)."""
        self.window_s = WINDOWS[(WINDOWS.index(self.window_s) + 1) % len(WINDOWS)]

    def job_added(self, key: str) -> None:
        """A new job appeared: show it when following the newest (or when none is shown)."""
        if self.follow or self.current is None:
            self.current = key

    def cycle_job(self, keys: list[str], delta: int) -> None:
        """Show the previous/next of ``keys``; following resumes only at the newest."""
        if not keys:
            return
        pos = keys.index(self.current) if self.current in keys else 0
        self.show_job(keys, keys[(pos + delta) % len(keys)])

    def show_job(self, keys: list[str], key: str) -> None:
        """Put ``key`` on screen, merged view; following resumes only for the newest."""
        self.current = key
        self.follow = key == keys[-1]
        self.rank_view = None

    def cycle_rank(self, ranks: list[int]) -> None:
        """Step through merged view -> rank 0 -> rank 1 -> ... -> merged view."""
        if len(ranks) < 2:
            self.rank_view = None
        elif self.rank_view is None:
            self.rank_view = ranks[0]
        else:
            later = [r for r in ranks if r > self.rank_view]
            self.rank_view = later[0] if later else None
