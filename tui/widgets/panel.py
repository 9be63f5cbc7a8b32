"""The base of every dashboard panel: focusable, titled, redrawn from the state.

Panels never subscribe to messages: the app timer calls :meth:`Panel.refresh_from` a few
times per second, and a panel redraws only when the state changed or it was resized, so
the render cost does not grow with the event rate.
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text
from textual.widgets import Static

from tui.state import AppState


class Panel(Static, can_focus=True):
    """A bordered, focusable panel whose content is a function of the state."""

    TITLE = ""
    KEY = ""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)
        self.border_title = f"{self.KEY} {self.TITLE}".strip()
        self._seen: tuple[int, int, int] | None = None

    def refresh_from(self, state: AppState, force: bool = False) -> None:
        """Rebuild the content when the state version or the panel size changed."""
        key = (state.version, self.content_size.width, self.content_size.height)
        if not force and key == self._seen:
            return
        self._seen = key
        content = self.render_state(state, max(1, key[1]), max(1, key[2]))
        for part in content.renderables if isinstance(content, Group) else [content]:
            if isinstance(part, Text):  # a panel line never wraps: it would push lines out
                part.no_wrap, part.overflow = True, "ellipsis"
        self.update(content)

    def render_state(self, state: AppState, width: int, height: int) -> RenderableType:
        """Build the panel's content for a ``width`` × ``height`` area; overridden by panels."""
        raise NotImplementedError
