"""Training panel: loss curve, learning rate, loss components and val/hmean per epoch."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.text import Text

from bridge import names
from tui.charts import chart, spark
from tui.fmt import short
from tui.state import AppState
from tui.widgets.panel import Panel

COMPONENTS = (
    names.TRAIN_LOSS_PROB,
    names.TRAIN_LOSS_THRESH,
    names.TRAIN_LOSS_BINARY,
    names.TRAIN_LOSS_REGION,
    names.TRAIN_LOSS_AFFINITY,
)


class TrainingPanel(Panel):
    """What the model is learning, next to how fast it learns it."""

    TITLE = "Training"
    KEY = "3"
    MIN_INTERVAL = 0.5

    def render_state(self, state: AppState, width: int, height: int) -> RenderableType:
        """See the module docstring."""
        rank = state.rank
        if rank is None or names.TRAIN_LOSS not in rank.latest:
            return Text("waiting for train/loss…", style="dim")
        head = Text()
        head.append(f"loss {short(rank.value(names.TRAIN_LOSS))}", style="bold magenta")
        head.append(f"  lr {short(rank.value(names.LR))}")
        for name in COMPONENTS:
            if name in rank.latest:
                head.append(f"  {name.split('_', 1)[1]} {short(rank.value(name))}", style="dim")
        hmean: dict[int, float] = rank.per_epoch.get(names.VAL_HMEAN) or {}
        val = Text("val/hmean ")
        if hmean:
            best_epoch = max(hmean, key=lambda e: hmean[e])
            last = list(hmean.items())[-max(1, (width - 40) // 8) :]
            val.append("  ".join(f"e{e}:{v:.3f}" for e, v in last))
            val.append(f"  best {hmean[best_epoch]:.3f}@e{best_epoch}", style="bold green")
        else:
            val.append("— (after the first validation)", style="dim")
        hist = rank.history[names.TRAIN_LOSS]
        lr_hist = rank.history.get(names.LR)
        graph_h = max(1, height - 3)
        lines: list[RenderableType] = [head]
        lines += [
            Text(r, style="magenta")
            for r in chart(hist.window(state.window_s, state.now()), width, graph_h)
        ]
        lr_values = lr_hist.window(state.window_s, state.now()) if lr_hist else []
        lines.append(Text("lr  " + spark(lr_values, max(1, width - 4), lo=0.0), style="blue"))
        lines.append(val)
        return Group(*lines)
