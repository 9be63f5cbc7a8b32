"""Replay plays a recorded events.jsonl into the same state, with pause, step and speed."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from ocrtop.tui.core.feeds.logs import rank_files
from ocrtop.tui.core.feeds.replay import SPEEDS, ReplayFeed
from ocrtop.tui.core.state import AppState
from tests.helpers.streams import StreamBuilder, make_stream


def write_run(tmp_path: Path, finish: bool = True) -> Path:
    lines = [json.dumps(m) for m in make_stream(steps=12, finish=finish)]
    (tmp_path / "events.jsonl").write_text("\n".join(lines) + "\n")
    rank1 = make_stream(steps=3, builder=StreamBuilder(rank=1, world_size=2))
    (tmp_path / "events.rank1.jsonl").write_text("".join(json.dumps(m) + "\n" for m in rank1))
    return tmp_path


async def test_each_streams_first_values_are_announced_once(tmp_path: Path) -> None:
    from ocrtop.tui.core.events import ValuesArrived

    posted: list[object] = []
    await ReplayFeed(AppState(), posted.append, write_run(tmp_path), speed=1e6).run()
    arrived = [e for e in posted if isinstance(e, ValuesArrived)]
    assert arrived == [ValuesArrived("events.jsonl"), ValuesArrived("events.rank1.jsonl")]


async def test_replay_plays_every_rank_to_the_end(tmp_path: Path) -> None:
    state, posted = AppState(), list[object]()
    source = ReplayFeed(state, posted.append, write_run(tmp_path), speed=1e6)
    await asyncio.wait_for(source.run(), 10)
    job = state.job
    assert source.done and job is not None
    assert sorted(job.ranks) == [0, 1] and job.ranks[0].progress["step"] == 12
    assert job.status == "done" and not job.finished  # rank 1 never reported its end
    assert state.replay_time == max(job.ranks[0].last_t, job.ranks[1].last_t)
    assert [p.name for p in rank_files(tmp_path)] == ["events.jsonl", "events.rank1.jsonl"]


async def test_pause_holds_and_step_releases_one_message(tmp_path: Path) -> None:
    state = AppState()
    source = ReplayFeed(state, lambda m: None, write_run(tmp_path), speed=1.0)
    source.toggle_pause()
    task = asyncio.create_task(source.run())
    await asyncio.sleep(0.2)
    before = state.version
    await asyncio.sleep(0.2)
    assert state.version == before, "paused replay must not advance"
    source.step()
    await asyncio.sleep(0.1)
    assert state.version == before + 1
    source.faster(+2)
    assert source.speed == SPEEDS[SPEEDS.index(1.0) + 2]
    source.toggle_pause()
    source.speed = 1e6
    await asyncio.wait_for(task, 10)
    assert source.done


async def test_missing_run_dir_is_reported(tmp_path: Path) -> None:
    posted: list[object] = []
    await ReplayFeed(AppState(), posted.append, tmp_path / "nope").run()
    error = getattr(posted[-1], "error", "")
    assert posted and error == f"cannot replay {tmp_path / 'nope'}: no such file or directory"


def _compact_run(tmp_path: Path, steps: int) -> Path:
    """A log in the exact wire format (compact, type first), as the bridge writes it."""
    from ocrtop.bridge.protocol import Message

    msgs = make_stream(steps=steps, finish=True)
    (tmp_path / "events.jsonl").write_bytes(b"".join(Message.from_dict(m).encode() for m in msgs))
    return tmp_path


async def _final(tmp_path: Path, **kwargs: float) -> tuple[AppState, float]:
    import time

    state = AppState()
    source = ReplayFeed(state, lambda m: None, tmp_path, **kwargs)
    t0 = time.monotonic()
    await asyncio.wait_for(source.run(), 20)
    return state, time.monotonic() - t0


async def test_a_replay_started_at_the_end_shows_the_final_state_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """start=1.0 at speed 1 skims the whole log: the run's end in well under its duration
    (30 s of recording), with every status and per-epoch score a full replay shows."""
    import ocrtop.tui.core.feeds.replay

    run = _compact_run(tmp_path, steps=60)
    full, _ = await _final(run, speed=1e6)
    monkeypatch.setattr(
        ocrtop.tui.core.feeds.replay, "SEEK_BUDGET", 10
    )  # thin the per-step history hard
    monkeypatch.setattr(ocrtop.tui.core.feeds.replay, "SEEK_TAIL_BYTES", 2048)
    seeked, elapsed = await _final(run, speed=1.0, start=1.0)
    assert elapsed < 5.0
    a, b = full.job, seeked.job
    assert a is not None and b is not None
    assert (b.status, b.primary.progress, b.primary.per_epoch) == (
        a.status,
        a.primary.progress,
        a.primary.per_epoch,
    )
    assert seeked.version < full.version  # fewer messages went in: the history was thinned


async def test_a_replay_started_midway_plays_the_rest_in_full(tmp_path: Path) -> None:
    run = _compact_run(tmp_path, steps=60)
    full, _ = await _final(run, speed=1e6)
    half, _ = await _final(run, speed=1e6, start=0.5)
    a, b = full.job, half.job
    assert a is not None and b is not None
    assert b.status == "done" and b.primary.progress == a.primary.progress
