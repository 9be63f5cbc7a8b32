"""The ``?`` screen: every key, what it does, and how to attach from elsewhere."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

HELP = """\
[b]ocrtop keys[/b]

  [b]p[/b]          profile the next N steps (N: --profile-steps; top-k shows when done)
  [b]q[/b]          quit; under [i]ocrtop train[/i]: detach, stop training, or cancel
  [b]ctrl+c[/b]     stop training (asks first)
  [b]?[/b]          this help
  [b]tab[/b] / [b]1-6[/b]  move between panels
  [b]m[/b]          maximise / restore the focused panel
  [b]w[/b]          history window: 1 min, 5 min, 15 min, whole run
  [b]/[/b]          filter the log tail (Enter keeps, Esc clears)
  [b][[/b] / [b]][/b]      previous / next job of a sweep
  [b]s[/b]          sweep table: every job, status, best hmean; Enter shows one
  [b]r[/b]          cycle DDP ranks: all ranks (one row each), rank 0, rank 1, ...
  [b]p[/b] on all ranks profiles every rank; on one rank, only that rank
  [b]space . + -[/b] replay: pause, step one event, faster, slower

[b]elsewhere[/b]
  ocrtop attach                 the only running job (a picker when several)
  ocrtop attach JOB             by job id (or prefix); see ocrtop ps
  ocrtop attach ssh://host/JOB  over ssh (runs ocrtop relay on the host)
  ocrtop replay RUN_DIR         a recorded run from its events.jsonl

press any key to close"""


class HelpScreen(ModalScreen[None]):
    """Key reference; any key closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q,question_mark", "dismiss", "close", show=False)
    ]

    def compose(self) -> ComposeResult:
        """The help text."""
        with VerticalScroll(id="dialog"):
            yield Static(HELP)

    def on_key(self) -> None:
        """Any key closes the help."""
        self.dismiss()
