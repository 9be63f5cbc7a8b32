"""Job picker: ``ocrtop attach`` with several running jobs lets you choose one."""

from __future__ import annotations

import time
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option


def describe(entry: Any) -> str:
    """``jobid  rank 0/2  host  started 12:03  run_dir`` for one registry entry."""
    started = time.strftime("%H:%M:%S", time.localtime(entry.start_time))
    return (
        f"{entry.job_id}  rank {entry.rank}/{entry.world_size}  {entry.host}  "
        f"started {started}  {entry.run_dir}"
    )


class JobPickerScreen(ModalScreen[str | None]):
    """Lists registry entries; Enter picks one, Escape quits."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss(None)", "quit", show=False)
    ]

    def __init__(self, entries: list[Any]) -> None:
        super().__init__()
        self.entries = entries

    def compose(self) -> ComposeResult:
        """The list of jobs."""
        with Vertical(id="dialog"):
            yield Static(f"{len(self.entries)} jobs are running — pick one (Enter), Esc quits")
            yield OptionList(*(Option(describe(e), id=e.job_id) for e in self.entries))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Answer with the chosen job id."""
        self.dismiss(event.option.id)
