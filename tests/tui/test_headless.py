"""Headless mode prints status lines, every alert and every profile from the state."""

from __future__ import annotations

import asyncio
import io

from ocrtop.tui.core.feeds.replay import ReplayFeed
from ocrtop.tui.core.state import AppState
from ocrtop.tui.headless import HeadlessPrinter, run_headless, status_line
from tests.helpers.streams import T0, StreamBuilder, make_stream


def feed(state: AppState, msgs: list[dict]) -> None:
    for m in msgs:
        state.ingest(m, "s0")


def test_status_line_carries_the_key_figures() -> None:
    state = AppState(clock=lambda: T0 + 12.0)
    feed(state, make_stream(steps=20))
    assert state.job is not None
    line = status_line(state, state.job)
    for part in ("[0:00:12]", "epoch 0/3", "step 20/60", "samples/s", "wait p95 92.0ms",
                 "loss", "val/hmean 0.200", "gpu0", "compute-bound", "ETA 0:00:20"):  # fmt: skip
        assert part in line, part


def test_alerts_and_profiles_are_printed_once_each() -> None:
    state, out = AppState(), io.StringIO()
    printer = HeadlessPrinter(state, out, interval=3600)
    b = StreamBuilder()
    stream = make_stream(steps=35, builder=b)
    cut = next(i for i, m in enumerate(stream) if m["type"] == "alert") + 1
    feed(state, stream[:cut])
    printer.tick()
    feed(state, stream[cut:] + b.profile(T0 + 30))
    printer.tick()
    printer.tick()
    text = out.getvalue()
    assert text.count("[alert] warning firing DATA_WAIT_HIGH") == 1
    assert "hint: raise data.num_workers" in text
    assert text.count("cleared DATA_WAIT_HIGH") == 1
    assert text.count("[profile] rank 0: 20 steps") == 1
    assert "aten::convolution_backward" in text


async def test_run_headless_exit_code_follows_the_final_status() -> None:
    for final, expected in (("done", 0), ("failed", 1)):
        b = StreamBuilder()
        msgs = make_stream(steps=5, builder=b)
        msgs.append(b.msg("status", T0 + 9, {"status": final, "exit_code": expected}))
        state, out = AppState(), io.StringIO()
        printer = HeadlessPrinter(state, out, interval=0.0)
        source = ReplayFeed(state, printer.on_message, messages=[(m, "s0") for m in msgs],
                              speed=1e6)  # fmt: skip
        code = await asyncio.wait_for(run_headless(state, source, printer, tick_s=0.01), 10)
        assert code == expected
        assert f"finished: {final}" in out.getvalue()


def test_scores_line_reports_the_test_metrics_and_nothing_before_them() -> None:
    state, out = AppState(), io.StringIO()
    printer = HeadlessPrinter(state, out, interval=3600)
    b = StreamBuilder()
    feed(state, make_stream(steps=10, builder=b))
    printer.scores()
    assert "test/hmean" not in out.getvalue()  # no test stage yet: nothing invented
    values = {"test/hmean": 0.8731, "test/precision": 0.9, "test/recall": 0.848}
    feed(state, [b.msg("metrics", T0 + 40, {"values": values}, step=60)])
    printer.scores()
    line = out.getvalue().strip().splitlines()[-1]
    assert line.endswith("test/hmean: 0.8731  (precision 0.9000, recall 0.8480)")
