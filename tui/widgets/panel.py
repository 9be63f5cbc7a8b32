"""The base of every dashboard panel: focusable, titled, redrawn from the state.

Panels never subscribe to messages: the app timer calls :meth:`Panel.refresh_from` a few
times per second, and a panel redraws only when the state changed or it was resized, so
the render cost does not grow with the event rate.
"""

from __future__ import annotations

import time
from collections.abc import Hashable

from rich.console import Group, RenderableType
from rich.text import Text
from textual.widgets import Static

from ocrtop.tui.core.state import AppState


class Panel(Static, can_focus=True):
    """A bordered, focusable panel whose content is a function of the state."""

    TITLE = ""
    KEY = ""
    MIN_INTERVAL = 0.0
    """Seconds between redraws caused by new data alone (0: every tick that has news)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.border_title = f"{self.KEY} {self.TITLE}".strip()
        self._seen: tuple[Hashable, Hashable] | None = None
        self._drawn_at = 0.0

    def signature(self, state: AppState) -> Hashable:
        """What the content depends on; the panel redraws only when it changes.

        The default (any state change) is right for panels fed by every step; panels fed by
        rare events override it so a high event rate does not redraw them for nothing.
        """
        return state.version

    def refresh_from(self, state: AppState, force: bool = False) -> None:
        """Rebuild the content when its signature or the panel size changed.

        Panels with a ``MIN_INTERVAL`` redraw at most that often while only the data moves
        (graphs fed by every step); a changed view (job, rank, window, size) shows at once,
        and so does a metric name the rank had not reported yet: the first values replace
        a placeholder (``—``, "waiting for…") at once instead of after the interval.
        """
        size = (self.content_size.width, self.content_size.height)
        rank = state.rank
        names_known = len(rank.latest) if rank is not None else -1
        view = (state.view_key(), state.view.window_s, size, names_known)
        key = (self.signature(state), view)
        if not force and key == self._seen:
            return
        now = time.monotonic()
        throttled = self._seen is not None and self._seen[1] == view
        if not force and throttled and now - self._drawn_at < self.MIN_INTERVAL:
            return
        self._seen, self._drawn_at = key, now
        content = self.render_state(state, max(1, size[0]), max(1, size[1]))
        for part in content.renderables if isinstance(content, Group) else [content]:
            if isinstance(part, Text):  # a panel line never wraps: it would push lines out
                part.no_wrap, part.overflow = True, "ellipsis"
        self.update(content, layout=False)  # panels have a fixed size: skip the layout pass

    def render_state(self, state: AppState, width: int, height: int) -> RenderableType:
        """Build the panel's content for a ``width`` × ``height`` area; overridden by panels."""
        raise NotImplementedError
