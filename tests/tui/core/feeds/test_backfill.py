"""Reading back sweep jobs that ended unseen: off the event loop, and skimmed."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ocrtop.bridge import names
from ocrtop.bridge.protocol import Message
from ocrtop.tui.core import derive
from ocrtop.tui.core.feeds import backfill
from ocrtop.tui.core.feeds.live import LiveFeed
from ocrtop.tui.core.state import AppState

T0 = 1_700_000_000.0


def _hello(run_dir: Path, index: int) -> Message:
    meta = {"sweep_job": index, "overrides": [f"lr={index}"]}
    payload = {"job_id": f"j{index}", "rank": 0, "world_size": 1, "run_dir": str(run_dir),
               "start_time": T0, "pid": 100 + index, "meta": meta}  # fmt: skip
    return Message("hello", T0, 0, payload=payload)


def _write_job(run_dir: Path, index: int, steps: int) -> None:
    run_dir.mkdir(parents=True)
    lines = [_hello(run_dir, index)]
    seq = 0
    for step in range(steps):
        seq += 1
        values = {names.TRAIN_LOSS: 1 / (step + 1), names.SAMPLES_PER_SECOND: 40.0}
        lines.append(Message("metrics", T0 + step, seq, step, 0, {"values": values}))
    seq += 1
    val = {"values": {names.VAL_HMEAN: index / 100}}
    lines.append(Message("metrics", T0 + steps, seq, steps, 0, val))
    lines.append(Message("status", T0 + steps + 1, seq + 1, payload={"status": "done"}))
    (run_dir / "events.jsonl").write_bytes(b"".join(m.encode() for m in lines))


def _sweep(tmp_path: Path, jobs: int, steps: int) -> tuple[AppState, LiveFeed, Path]:
    sweep = tmp_path / "sweep"
    for i in range(jobs - 1):
        _write_job(sweep / str(i), i, steps)
    running = sweep / str(jobs - 1)
    running.mkdir(parents=True)
    state = AppState(clock=lambda: T0 + 10_000)
    state.ingest(_hello(running, jobs - 1).to_dict(), "live")
    return state, LiveFeed(state, lambda m: None, group="g"), running


async def test_the_backfill_scan_does_not_block_the_event_loop(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow sweep folder listing (a network disk) runs in a worker thread."""
    state, source, running = _sweep(tmp_path, jobs=3, steps=10)
    loop_thread = threading.get_ident()
    scan_threads: list[int] = []
    real = backfill.unseen_runs

    def slow_listing(sweep_dir: Path, known: set[str]) -> list[Path]:
        scan_threads.append(threading.get_ident())
        time.sleep(0.5)
        return real(sweep_dir, known)

    monkeypatch.setattr(backfill, "unseen_runs", slow_listing)
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    task = asyncio.create_task(ticker())
    await source.backfill(live={str(running)})
    task.cancel()
    assert scan_threads and loop_thread not in scan_threads
    assert ticks >= 10, f"the loop ran {ticks} times during a 0.5 s listing"
    assert len(state.jobs) == 3


async def test_a_50_job_sweep_folder_fills_the_sweep_table(tmp_path: Path) -> None:
    """49 finished jobs of 1,000 steps each: all rows, statuses and best scores."""
    state, source, running = _sweep(tmp_path, jobs=50, steps=1_000)
    t0 = time.monotonic()
    await source.backfill(live={str(running)})
    elapsed = time.monotonic() - t0
    rows = derive.sweep_rows(state.jobs, state.now())
    assert [r.index for r in rows] == list(range(50))
    assert [r.status for r in rows[:49]] == ["done"] * 49
    assert [r.best_hmean for r in rows[:49]] == [i / 100 for i in range(49)]
    assert elapsed < 10.0  # generous for a shared CI core; bench_growth.py has the figure


def test_a_read_back_job_is_skimmed_not_read_whole(tmp_path: Path) -> None:
    _write_job(tmp_path / "0", 0, steps=20_000)
    msgs: list[Any] = backfill.read_run(tmp_path / "0")
    assert len(msgs) < 20_000 // 4  # a downsampled history...
    kinds = [m.type for m, _ in msgs]
    assert kinds[0] == "hello" and kinds[-1] == "status"  # ...with the start and the end
    assert any(names.VAL_HMEAN in m.payload.get("values", {}) for m, _ in msgs)
