"""The training panel and headless line follow a user's own metric names, ours when present."""

from __future__ import annotations

from ocrtop.bridge import names
from ocrtop.tui.core import derive
from ocrtop.tui.core.state import AppState
from ocrtop.tui.headless import status_line
from ocrtop.tui.widgets.training import TrainingPanel
from tests.helpers.streams import T0, StreamBuilder, make_stream


def fed(stream: list[dict]) -> AppState:
    state = AppState(clock=lambda: T0 + 30.0)
    for msg in stream:
        state.ingest(msg, "s0")
    return state


def user_stream(loss_name: str = "train_loss") -> list[dict]:
    """A plain Lightning script: ``self.log("train_loss")``, ``val_acc`` and ``val_loss``."""
    b = StreamBuilder()
    out = [b.hello(), b.msg("status", T0, {"status": "train"})]
    for step in range(1, 6):
        values = {loss_name: 1.0 / step, "train_acc": 0.1 * step}
        out.append(b.msg("metrics", T0 + step, {"values": values}, step=step, epoch=0))
    for epoch, (acc, loss) in enumerate([(0.5, 0.9), (0.8, 0.4), (0.7, 0.6)]):
        val = {"val_acc": acc, "val_loss": loss}
        out.append(b.msg("metrics", T0 + 10 + epoch, {"values": val}, 5, epoch))
    return out


def render(state: AppState) -> str:
    out = TrainingPanel().render_state(state, 80, 8)
    return "\n".join(t.plain for t in getattr(out, "renderables", [out]))


def test_a_user_jobs_own_names_fill_the_panel_and_the_line() -> None:
    state = fed(user_stream())
    rank = state.rank
    assert rank is not None and state.job is not None
    assert derive.loss_name(rank) == "train_loss"
    assert derive.train_metrics(rank) == [("train_acc", 0.5)]
    assert derive.val_metric(rank) == "val_acc"  # a score, not the validation loss
    assert derive.best_epoch("val_acc", derive.val_history(rank, "val_acc")) == 1
    assert derive.best_epoch("val_loss", derive.val_history(rank, "val_loss")) == 1
    text = render(state)
    assert "train_loss 0.2" in text and "train_acc 0.5" in text
    assert "val_acc e0:0.500  e1:0.800  e2:0.700  best 0.800@e1" in text
    line = status_line(state, state.job)
    assert "loss 0.2" in line and "val_acc 0.700" in line


def test_the_published_train_loss_wins_and_a_detector_shows_its_parts_and_hmean() -> None:
    state = fed(user_stream(loss_name=names.TRAIN_LOSS))
    assert state.rank is not None and derive.loss_name(state.rank) == names.TRAIN_LOSS
    detector = fed(make_stream(steps=45))
    rank = detector.rank
    assert rank is not None and detector.job is not None
    assert derive.val_metric(rank) == names.VAL_HMEAN
    text = render(detector)
    assert "loss " in text and "val/hmean e0:" in text
    assert "val/hmean" in status_line(detector, detector.job)


def test_nothing_logged_yet_says_so() -> None:
    b = StreamBuilder()
    state = fed([b.hello(), b.msg("metrics", T0 + 1, {"values": {"perf/step_ms": 3.0}}, 1, 0)])
    assert "waiting for the first training loss" in render(state)
