"""The verdict and the memory figure the dashboard shows, as the trainer published them."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

from rich.console import Console, RenderableType

from ocrtop.bridge import names
from ocrtop.tui.core import derive
from ocrtop.tui.core.feeds.replay import ReplayFeed
from ocrtop.tui.core.state import AppState
from ocrtop.tui.headless import HeadlessPrinter, run_headless, status_line
from ocrtop.tui.widgets.resources import ResourcesPanel
from ocrtop.tui.widgets.throughput import ThroughputPanel
from tests.helpers.streams import T0, StreamBuilder, make_stream


def state_with(values: dict[str, float], steps: int = 10) -> AppState:
    """The fixture stream, then one metrics message carrying ``values``."""
    state = AppState(clock=lambda: T0 + 30.0)
    b = StreamBuilder()
    for m in make_stream(steps=steps, builder=b):
        state.ingest(m, "s0")
    state.ingest(b.msg("metrics", T0 + 20.0, {"values": values}, steps), "s0")
    return state


def text(renderable: RenderableType, width: int = 100) -> str:
    console = Console(width=width, record=True, file=io.StringIO())
    console.print(renderable)
    return console.export_text()


DATA_BOUND = {
    names.DATA_BOUND: 1.0,
    names.DATA_BOUND_THRESHOLD: 0.3,
    names.THROUGHPUT_EFFICIENCY: 0.4,
    names.DATA_WAIT_MS_P50: 300.0,
    names.STEP_MS: 500.0,
}


def test_a_data_bound_trainer_reads_data_bound_everywhere() -> None:
    state = state_with(DATA_BOUND)
    rank, job = state.rank, state.job
    assert rank is not None and job is not None
    v = derive.verdict(rank)
    assert v is not None and v.label == "data-bound"
    assert v.reason == "data wait 60% of step time (> 30% threshold)"
    assert "data-bound" in status_line(state, job)
    panel = text(ThroughputPanel().render_state(state, 100, 12))
    assert "data-bound  data wait 60% of step time (> 30% threshold)" in panel


def test_the_trainers_threshold_decides_not_one_of_our_own() -> None:
    # 25% data wait: compute-bound for a trainer judging against 30%...
    lenient = {**DATA_BOUND, names.DATA_BOUND: 0.0, names.THROUGHPUT_EFFICIENCY: 0.75}
    state = state_with(lenient)
    assert state.rank is not None and state.job is not None
    v = derive.verdict(state.rank)
    assert v is not None and v.label == "compute-bound"
    assert v.reason == "data wait 25% of step time (≤ 30% threshold)"
    assert "compute-bound" in status_line(state, state.job)
    # ...and data-bound for one configured with data_bound_share=0.2
    strict = {**lenient, names.DATA_BOUND: 1.0, names.DATA_BOUND_THRESHOLD: 0.2}
    state = state_with(strict)
    assert state.rank is not None
    v = derive.verdict(state.rank)
    assert v is not None and v.label == "data-bound" and "> 20% threshold" in v.reason


def test_the_reason_is_the_window_statistic_not_the_last_step() -> None:
    # one slow fetch in the last step (90 of 100 ms) inside a compute-bound window
    spike = {
        names.DATA_BOUND: 0.0,
        names.DATA_BOUND_THRESHOLD: 0.3,
        names.THROUGHPUT_EFFICIENCY: 0.9,
        names.DATA_WAIT_MS: 90.0,
        names.DATA_WAIT_MS_P50: 90.0,
        names.STEP_MS: 100.0,
    }
    state = state_with(spike)
    assert state.rank is not None
    v = derive.verdict(state.rank)
    assert v is not None and v.label == "compute-bound" and "10%" in v.reason


def test_no_verdict_until_the_trainer_judged_a_window() -> None:
    state = AppState(clock=lambda: T0)
    b = StreamBuilder()
    state.ingest(b.hello(T0), "s0")
    wait_only = {names.DATA_WAIT_MS_P50: 300.0, names.STEP_MS: 500.0}
    state.ingest(b.msg("metrics", T0 + 1, {"values": wait_only}, 1), "s0")
    assert state.rank is not None and derive.verdict(state.rank) is None


def test_memory_is_labelled_pss_and_rss_only_without_pss() -> None:
    state = state_with({names.PROC_PSS_BYTES: 1.5 * 2**30, names.PROC_RSS_BYTES: 4.5 * 2**30})
    assert state.rank is not None and state.job is not None
    assert derive.host_memory(state.rank) == ("pss", 1.5 * 2**30)
    line = status_line(state, state.job)
    assert "pss 1.5G" in line and "rss" not in line
    panel = text(ResourcesPanel().render_state(state, 100, 12))
    assert "pss 1.5G" in panel and "rss" not in panel
    # a recording from before PSS (or a trainer without PSS): summed RSS, named so
    old = AppState(clock=lambda: T0)
    b = StreamBuilder()
    old.ingest(b.hello(T0), "s0")
    old.ingest(b.msg("metrics", T0 + 1, {"values": {names.PROC_RSS_BYTES: 2 * 2**30}}, 1), "s0")
    assert old.rank is not None and old.job is not None
    assert derive.host_memory(old.rank) == ("rss", 2 * 2**30)
    assert "rss 2.0G" in status_line(old, old.job)


async def test_a_recording_from_before_pss_and_without_images_per_second_replays(
    tmp_path: Path,
) -> None:
    # what runs logged before: the same rate twice under two names, RSS, no threshold
    b = StreamBuilder()
    old = {
        names.SAMPLES_PER_SECOND: 12.0,
        "perf/images_per_second": 12.0,
        "lr": 1e-3,  # names.ALIASES: read as train/lr
        names.PROC_RSS_BYTES: 3 * 2**30,
        names.DATA_BOUND: 1.0,
        names.THROUGHPUT_EFFICIENCY: 0.5,
    }
    msgs = [b.hello(T0), b.msg("metrics", T0 + 1, {"values": old}, 1)]
    msgs.append(b.msg("status", T0 + 2, {"status": "done", "exit_code": 0}))
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(m) + "\n" for m in msgs))
    state, out = AppState(), io.StringIO()
    printer = HeadlessPrinter(state, out, interval=0.0)
    source = ReplayFeed(state, printer.on_message, run_dir=tmp_path, speed=1e6)
    assert await asyncio.wait_for(run_headless(state, source, printer, tick_s=0.01), 10) == 0
    text_out = out.getvalue()
    assert "12.0 samples/s" in text_out and "rss 3.0G" in text_out and "data-bound" in text_out
    assert state.rank is not None
    assert state.rank.value(names.LR) == 1e-3 and "lr" not in state.rank.latest
    v = derive.verdict(state.rank)
    assert v is not None and v.reason == "data wait 50% of step time"  # no threshold then
