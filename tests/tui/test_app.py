"""Pilot tests: the dashboard over a recorded stream fed through the live source."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from ocrtop.tui.app import OcrtopApp
from ocrtop.tui.core.feeds.base import Capabilities
from ocrtop.tui.core.state import AppState
from ocrtop.tui.screens.choice import ChoiceScreen
from ocrtop.tui.screens.finished import JobFinishedScreen
from ocrtop.tui.widgets.header import HeaderBar
from tests.helpers.streams import T0, StreamBuilder, make_stream
from tests.helpers.tui_fakes import RecordedFeed
from tests.helpers.tui_harness import Harness, settle, text_of


async def test_panels_fill_from_the_stream() -> None:
    h = Harness()
    async with h.app.run_test(size=h.size) as pilot:
        await settle(pilot)
        assert "samples/s" in text_of(h.app, "throughput")
        assert "wait p50 55.0 p95 92.0 p99 130.0 ms" in text_of(h.app, "throughput")
        assert "gpu0" in text_of(h.app, "resources") and "pss" in text_of(h.app, "resources")
        assert "loss" in text_of(h.app, "training") and "e1:0.450" in text_of(h.app, "training")
        assert "val/hmean" in text_of(h.app, "training")
        assert "epoch 0: val/hmean=0.200" in text_of(h.app, "log")
        assert "cleared" in text_of(h.app, "alerts")


async def test_profile_key_sends_command_and_top_k_appears() -> None:
    h = Harness()
    async with h.app.run_test(size=h.size) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        assert h.clients[0].commands == [("profile", {"steps": 20})]
        assert "armed" in text_of(h.app, "profiler")
        for msg in h.builder.profile(T0 + 40.0, steps=20, step=46):
            h.clients[0].push(msg)
        await settle(pilot)
        table = text_of(h.app, "profiler")
        assert "aten::convolution_backward" in table and "412.5" in table
        assert "cmd_40.json" in table


async def test_alert_shows_then_clears() -> None:
    h = Harness(steps=12)
    async with h.app.run_test(size=h.size) as pilot:
        await settle(pilot)
        assert "WARNING" in text_of(h.app, "alerts") and "raise data.num_workers" in text_of(
            h.app, "alerts"
        )
        for msg in make_stream(steps=35, builder=StreamBuilder())[1:]:
            h.clients[0].push({**msg, "seq": msg["seq"] + 10_000})
        await settle(pilot)
        alerts = text_of(h.app, "alerts")
        assert "no active alerts" in alerts and "cleared" in alerts


async def test_job_finished_overlay_shows_exit_code() -> None:
    h = Harness(steps=10)
    async with h.app.run_test(size=h.size) as pilot:
        await settle(pilot)
        scores = {"test/hmean": 0.8731, "test/precision": 0.9, "test/recall": 0.85}
        h.clients[0].push(h.builder.msg("metrics", T0 + 19, {"values": scores}, step=10))
        h.clients[0].push(h.builder.msg("status", T0 + 20, {"status": "done", "exit_code": 0}))
        h.clients[0].push(None)
        await settle(pilot)
        screen = h.app.screen
        assert isinstance(screen, JobFinishedScreen)
        assert "exit code 0" in screen.text and "finished: done" in screen.text
        assert "test/hmean 0.8731" in screen.text
        await pilot.press("escape")
        assert h.app.screen is h.app.dashboard


async def test_disconnect_shows_reconnecting_then_recovers() -> None:
    h = Harness(steps=10)
    async with h.app.run_test(size=h.size) as pilot:
        await settle(pilot)
        assert h.state.job is not None and h.state.job.connection == "live"
        gate = asyncio.Event()
        original = h.app.feed.connect

        async def slow_connect(target: str) -> Any:
            await gate.wait()
            return await original(target)

        h.app.feed.connect = slow_connect
        h.clients[0].push(None)
        await settle(pilot)
        assert h.state.job.connection == "reconnecting"
        assert "reconnecting" in str(h.app.dashboard.query_one("#header", HeaderBar).content)
        gate.set()
        await settle(pilot)
        assert h.state.job.connection == "live" and len(h.clients) == 2
        assert h.clients[0].closed


async def test_quit_in_attach_mode_exits_and_readonly_blocks_profile() -> None:
    h = Harness(steps=5, readonly=True)  # the live feed then declares no commands
    async with h.app.run_test(size=h.size) as pilot:
        await settle(pilot)
        await pilot.press("p")
        await settle(pilot)
        assert h.clients[0].commands == []
        await pilot.press("q")
        await settle(pilot)
    assert not isinstance(h.app.screen_stack[-1] if h.app.screen_stack else None, ChoiceScreen)
    assert h.app.return_code == 0


async def test_ddp_job_shows_one_row_per_rank_and_rank_key_switches() -> None:
    state = AppState(clock=lambda: T0 + 30.0)
    for rank in (0, 1):
        for msg in make_stream(
            steps=6, builder=StreamBuilder(job_id="ddp", rank=rank, world_size=2)
        ):
            if (
                rank == 1
                and msg["type"] == "metrics"
                and "perf/step_ms" in msg["payload"]["values"]
            ):
                msg["payload"]["values"]["perf/step_ms"] = 900.0  # the straggler
            state.ingest(msg, f"r{rank}")

    app = OcrtopApp(state, lambda post: RecordedFeed(state), tick_hz=20)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.1)
        table = text_of(app, "throughput")
        assert "rank  samples/s  wait p95  step ms" in table
        assert "900" in table
        assert "all ranks of 2" in str(app.dashboard.query_one("#header", HeaderBar).content)
        await pilot.press("r", "r")
        await pilot.pause(0.1)
        assert state.rank is not None and state.rank.rank == 1
        assert "rank 1 of 2" in str(app.dashboard.query_one("#header", HeaderBar).content)


class CountingFeed(RecordedFeed):
    """Records the playback controls the app calls."""

    def __init__(self, state: AppState, capabilities: Capabilities) -> None:
        super().__init__(state, [(m, "s") for m in make_stream(steps=5)], capabilities)
        self.controls: list[str] = []

    def toggle_pause(self) -> None:
        self.controls.append("pause")

    def step(self) -> None:
        self.controls.append("step")

    def faster(self, delta: int) -> None:
        self.controls.append(f"speed{delta:+d}")


@pytest.mark.parametrize("playback", [True, False])
async def test_keys_ask_the_feed_what_it_can_do(playback: bool) -> None:
    state = AppState(clock=lambda: T0 + 30)  # not read-only: only the feed decides
    feed = CountingFeed(state, Capabilities(playback=playback, commands=not playback))
    app = OcrtopApp(state, lambda post: feed, mode="attach", tick_hz=20)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause(0.1)
        await pilot.press("space", "full_stop", "plus", "minus", "p")
        await pilot.pause(0.1)
    assert feed.controls == (["pause", "step", "speed+1", "speed-1"] if playback else [])
    assert feed.sent == ([] if playback else [("profile", {"steps": 20})])
