"""A small modal that asks one question and returns the chosen key's result.

Used for ``q`` in ``ocrtop train`` (detach / stop / cancel) and for Ctrl-C (stop?), so
that a stray key never kills a long training run.
"""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.events import Key
from textual.screen import ModalScreen
from textual.widgets import Button, Static

QUIT_CHOICES = (
    ("d", "Detach", "detach"),
    ("s", "Stop training", "stop"),
    ("c", "Cancel", "cancel"),
)
STOP_CHOICES = (("y", "Yes, stop training", "stop"), ("n", "No", "cancel"))


class ChoiceScreen(ModalScreen[str]):
    """A question with one button per answer; each answer also has a single key."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss('cancel')", "cancel", show=False)
    ]

    def __init__(self, question: str, choices: tuple[tuple[str, str, str], ...]) -> None:
        super().__init__()
        self.question = question
        self.choices = choices

    def compose(self) -> ComposeResult:
        """The question and the buttons."""
        with Vertical(id="dialog"):
            yield Static(self.question, id="question")
            with Horizontal(id="buttons"):
                for key, label, result in self.choices:
                    yield Button(f"\\[{key}] {label}", id=f"choice-{result}")

    def on_key(self, event: Key) -> None:
        """A choice's letter answers at once."""
        for key, _label, result in self.choices:
            if event.key == key:
                event.stop()
                self.dismiss(result)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Clicking or Enter on a button answers with its result."""
        self.dismiss((event.button.id or "choice-cancel").removeprefix("choice-"))
