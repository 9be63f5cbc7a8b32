"""Key bar at the bottom: the keys that work right now, including the profile window size."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static


class KeysBar(Static):
    """One line of key hints; replay and read-only modes show their own keys."""

    def __init__(self, profile_steps: int, mode: str, readonly: bool) -> None:
        super().__init__(self.build(profile_steps, mode, readonly), markup=False)

    @staticmethod
    def build(profile_steps: int, mode: str, readonly: bool) -> Text:
        """The hint line; ``mode`` is train, attach or replay."""
        keys: list[tuple[str, str]] = []
        if mode == "replay":
            keys += [("space", "pause"), (".", "step"), ("+-", "speed")]
        elif not readonly:
            keys.append(("p", f"profile {profile_steps} steps"))
        keys += [
            ("q", "quit"),
            ("?", "help"),
            ("tab", "panel"),
            ("m", "max"),
            ("w", "window"),
            ("/", "filter"),
            ("[]", "job"),
            ("r", "rank"),
        ]
        text = Text()
        for key, label in keys:
            text.append(key, style="bold reverse")
            text.append(f" {label} ")
        if readonly and mode != "replay":
            text.append(" read-only ", style="bold yellow")
        return text
