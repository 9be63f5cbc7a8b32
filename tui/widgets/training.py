"""Training panel: the loss curve, learning rate, logged metrics and the validation figure.

Generic first: the loss is whatever the job's step returned (or logged), the other rows
are whatever it logs under ``train/``/``val/``; the detector's loss parts and
``val/hmean`` appear when they are there (choices in :mod:`ocrtop.tui.core.derive`).
"""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from ocrtop.bridge import names
from ocrtop.tui.core import derive
from ocrtop.tui.core.charts import chart, spark
from ocrtop.tui.core.fmt import short
from ocrtop.tui.core.state import AppState, RankState
from ocrtop.tui.widgets.panel import Panel


def _leaf(name: str) -> str:
    return name.split("/", 1)[1] if "/" in name else name


class TrainingPanel(Panel):
    """What the model is learning, next to how fast it learns it."""

    TITLE = "Training"
    KEY = "3"
    MIN_INTERVAL = 0.5

    def render_state(self, state: AppState, width: int, height: int) -> RenderableType:
        """See the module docstring."""
        rank = state.rank
        loss = derive.loss_name(rank) if rank is not None else None
        if rank is None or loss is None:
            return Text("waiting for the first training loss…", style="dim")
        head = Text()
        head.append(f"{_leaf(loss)} {short(rank.value(loss))}", style="bold magenta")
        if names.LR in rank.latest:
            head.append(f"  lr {short(rank.value(names.LR))}")
        for name in derive.LOSS_COMPONENTS:
            if name in rank.latest:
                head.append(f"  {name.split('_', 1)[1]} {short(rank.value(name))}", style="dim")
        for name, value in derive.train_metrics(rank):
            head.append(f"  {_leaf(name)} {short(value)}")
        graph_h, window_s = max(1, height - 3), state.view.window_s
        lines: list[RenderableType] = [head]
        lines += [
            Text(r, style="magenta")
            for r in chart(rank.history[loss].window(window_s, state.now()), width, graph_h)
        ]
        lr_hist = rank.history.get(names.LR)
        if lr_hist is not None:
            lr_values = lr_hist.window(window_s, state.now())
            lines.append(Text("lr  " + spark(lr_values, max(1, width - 4), lo=0.0), style="blue"))
        lines.append(self._val_line(rank, width))
        return Group(*lines)

    @staticmethod
    def _val_line(rank: RankState, width: int) -> Text:
        name = derive.val_metric(rank)
        val = Text(f"{name or 'val'} ")
        table = derive.val_history(rank, name) if name else {}
        if not name or not table:
            val.append("— (after the first validation)", style="dim")
            return val
        last = list(table.items())[-max(1, (width - 40) // 8) :]
        val.append("  ".join(f"e{e}:{v:.3f}" if e >= 0 else f"{v:.3f}" for e, v in last))
        best = derive.best_epoch(name, table)
        if best is not None and best >= 0:
            val.append(f"  best {table[best]:.3f}@e{best}", style="bold green")
        return val
