"""The merged DDP view (rank rows, straggler) and the sweep table, from crafted streams."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import ocrtop.tui.core.feeds.live
from ocrtop.bridge import names
from ocrtop.tui.app import OcrtopApp
from ocrtop.tui.core import derive
from ocrtop.tui.core.state import AppState
from ocrtop.tui.headless import HeadlessPrinter, is_sweep, ranks_line
from ocrtop.tui.screens.sweep import SweepScreen
from ocrtop.tui.widgets.header import HeaderBar
from tests.helpers.tui_fakes import FakeClient, RecordedFeed, panel_text

T0 = 1_700_000_000.0


def hello(rank: int, world: int, run_dir: str, meta: dict[str, Any] | None = None) -> dict:
    payload = {"job_id": f"j{rank}-{run_dir}", "rank": rank, "world_size": world}
    payload.update(run_dir=run_dir, start_time=T0, pid=100 + rank, meta=meta or {})
    return {"type": "hello", "t": T0, "seq": 0, "payload": payload}


def msg(kind: str, seq: int, payload: dict, t: float = T0 + 1, epoch: int | None = None) -> dict:
    return {"type": kind, "t": t, "seq": seq, "step": seq, "epoch": epoch, "payload": payload}


def ddp_state(straggler: bool = True) -> AppState:
    """Rank 0 and 1 connected; rank 0's ddp/* figures also cover rank 2 (another node)."""
    state = AppState(clock=lambda: T0 + 10)
    for rank in (0, 1):
        state.ingest(hello(rank, 3, "run"), f"s{rank}")
        values = {names.SAMPLES_PER_SECOND: 9.0 - rank, names.STEP_MS: 440.0}
        values[names.DATA_WAIT_MS_P95] = 30.0 + 120 * rank
        values[names.PROC_PSS_BYTES] = 2e9  # rank 0's process tree holds rank 1 as well
        state.ingest(msg("metrics", 1, {"values": values}), f"s{rank}")
    ddp = {names.DDP_SLOWEST_RANK: 1.0}
    for rank, (own, late) in enumerate(((320.0, 0.0), (440.0, 120.0), (330.0, 5.0))):
        ddp[names.ddp_rank(rank, "own_step_ms")] = own
        ddp[names.ddp_rank(rank, "lateness_ms")] = late
        ddp[names.ddp_rank(rank, "samples_per_second")] = 8.0
        ddp[names.ddp_rank(rank, "step_ms")] = 441.0
        ddp[names.ddp_rank(rank, "pss_bytes")] = 1e9
    state.ingest(msg("metrics", 2, {"values": ddp}), "s0")
    if straggler:
        alert: dict[str, Any] = {"code": "straggler", "severity": "warning", "state": "firing"}
        alert.update(message="rank 1 is a straggler", values={"rank": 1.0}, hint="loader")
        state.ingest(msg("alert", 2, alert), "s1")
    return state


def test_rank_rows_merge_own_streams_with_rank0s_cross_rank_figures() -> None:
    job = ddp_state().job
    assert job is not None
    rows = derive.rank_rows(job)
    assert [r.rank for r in rows] == [0, 1, 2]  # rank 2 is known only through rank 0
    assert rows[1].samples_per_s == 8.0 and rows[1].data_wait_p95 == 150.0  # its own stream
    assert rows[2].samples_per_s == 8.0 and rows[2].status == "remote"
    assert (rows[1].own_step_ms, rows[1].lateness_ms) == (440.0, 120.0)
    assert [r.straggler for r in rows] == [False, True, False]
    assert [r.memory for r in rows] == [1e9, 1e9, 1e9]  # each rank's own processes
    assert derive.slowest(rows) == 1


def test_without_an_alert_the_slowest_is_the_longest_own_step() -> None:
    job = ddp_state(straggler=False).job
    assert job is not None
    rows = derive.rank_rows(job)
    assert not any(r.straggler for r in rows) and derive.slowest(rows) == 1


def test_memory_is_gpu_memory_on_gpus_and_the_stream_rss_without_rank_stats() -> None:
    state = ddp_state()
    gpu = {names.ddp_rank(1, "gpu_mem_bytes"): 5e9}
    state.ingest(msg("metrics", 3, {"values": gpu}), "s0")
    job = state.job
    assert job is not None
    assert derive.memory(job.primary, job.ranks[1], 1) == 5e9
    lone = AppState()
    lone.ingest(hello(1, 2, "r"), "s1")
    lone.ingest(msg("metrics", 1, {"values": {names.PROC_RSS_BYTES: 7e8}}), "s1")
    assert lone.job is not None
    assert derive.memory(lone.job.primary, lone.job.ranks[1], 1) == 7e8  # old runs: RSS
    lone.ingest(msg("metrics", 2, {"values": {names.PROC_PSS_BYTES: 3e8}}), "s1")
    assert derive.memory(lone.job.primary, lone.job.ranks[1], 1) == 3e8  # PSS when published


def test_recordings_from_before_pss_keep_their_rank_memory() -> None:
    state = AppState()
    state.ingest(hello(0, 2, "r"), "s0")
    state.ingest(msg("metrics", 1, {"values": {"ddp/rank1/rss_bytes": 6e8}}), "s0")
    assert state.job is not None
    assert derive.memory(state.job.primary, None, 1) == 6e8


async def test_merged_view_names_the_straggler_and_r_shows_one_rank() -> None:
    state = ddp_state()

    app = OcrtopApp(state, lambda post: RecordedFeed(state), tick_hz=20)
    async with app.run_test(size=(140, 48)) as pilot:  # two columns: the table fits
        await pilot.pause(0.1)
        table = panel_text(app, "throughput")
        assert "own ms" in table and "◀ straggler" in table and "(via rank 0)" in table
        header = str(app.dashboard.query_one("#header", HeaderBar).content)
        assert "all ranks of 3" in header and "straggler: rank 1" in header
        await pilot.press("r", "r")
        await pilot.pause(0.1)
        assert state.rank is not None and state.rank.rank == 1
        assert "rank 1 of 3" in str(app.dashboard.query_one("#header", HeaderBar).content)


def test_headless_prints_one_ranks_line_with_the_straggler() -> None:
    job = ddp_state().job
    assert job is not None
    line = ranks_line(job)
    assert line.startswith("[ranks] r0 ") and "| r1 " in line and "| r2 " in line
    assert line.split("|")[1].strip().endswith("STRAGGLER")


def sweep_state() -> AppState:
    state = AppState(clock=lambda: T0 + 100)
    fixed = ["experiment=synthetic_debug", "trainer.max_epochs=1"]
    for num, arch in enumerate(("dbnet", "craft")):
        meta = {"sweep_job": num, "overrides": [*fixed, f"model/architectures={arch}"]}
        state.ingest(hello(0, 1, f"sweep/{num}_{arch}", meta), f"job{num}")
        perf = {names.SAMPLES_PER_SECOND: 10.0 + num}
        state.ingest(msg("metrics", 1, {"values": perf}), f"job{num}")
        for epoch, hmean in enumerate((0.2, 0.4 + num / 10, 0.3)):
            values = {names.VAL_HMEAN: hmean}
            state.ingest(msg("metrics", 2 + epoch, {"values": values}, epoch=epoch), f"job{num}")
    done = {"status": "done"}
    state.ingest(msg("status", 9, done, t=T0 + 60), "job0")
    state.ingest(msg("status", 9, {"status": "train"}, t=T0 + 80), "job1")
    return state


def test_sweep_rows_show_what_varies_best_hmean_and_status() -> None:
    state = sweep_state()
    rows = derive.sweep_rows(state.jobs, state.now())
    assert [(r.index, r.overrides, r.status) for r in rows] == [
        (0, "model/architectures=dbnet", "done"),
        (1, "model/architectures=craft", "train"),
    ]
    assert rows[0].best_hmean == 0.4 and rows[1].best_hmean == 0.5
    assert rows[0].samples_per_s == 10.0
    assert rows[0].duration_s == 60.0  # finished: frozen at its last message
    assert rows[1].duration_s == 100.0  # running: up to now


def test_headless_sweep_table_after_a_job_finishes() -> None:
    from ocrtop.tui.core.events import JobFinished

    state, out = sweep_state(), io.StringIO()
    assert is_sweep(state)
    printer = HeadlessPrinter(state, out)
    printer.on_message(JobFinished("sweep/0_dbnet"))
    printer.on_message(JobFinished("sweep/0_dbnet"))  # the same table is not repeated
    lines = [x for x in out.getvalue().splitlines() if x.startswith("[sweep]")]
    assert len(lines) == 3
    assert "0  done" in lines[1] and "0.400" in lines[1]
    assert lines[2].startswith("[sweep] ▶") and "train" in lines[2]  # following the newest


async def test_sweep_screen_follows_and_enter_shows_a_finished_job() -> None:
    state = sweep_state()

    app = OcrtopApp(state, lambda post: RecordedFeed(state), tick_hz=20)
    async with app.run_test(size=(140, 40)) as pilot:
        await pilot.pause(0.1)
        assert state.view.current == "sweep/1_craft"  # following the running job
        await pilot.press("s")
        await pilot.pause(0.1)
        screen = app.screen
        assert isinstance(screen, SweepScreen)
        await pilot.press("up", "enter")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, SweepScreen)
        assert state.view.current == "sweep/0_dbnet" and not state.view.follow
        assert "job 1/2" in str(app.dashboard.query_one("#header", HeaderBar).content)


async def test_sweep_jobs_that_ended_between_polls_are_read_from_their_logs(
    tmp_path: Path,
) -> None:
    from ocrtop.tui.core.events import JobFinished
    from ocrtop.tui.core.feeds.live import LiveFeed

    sweep = tmp_path / "sweep"
    early, running = sweep / "0_dbnet", sweep / "1_craft"
    early.mkdir(parents=True)
    running.mkdir()  # started, no event log yet
    meta0 = {"sweep_job": 0, "overrides": ["model/architectures=dbnet"]}
    recorded = [
        hello(0, 1, str(early), meta0),
        msg("metrics", 1, {"values": {names.VAL_HMEAN: 0.25}}, epoch=0),
        msg("status", 2, {"status": "done"}, t=T0 + 30),
    ]
    (early / "events.jsonl").write_text("".join(json.dumps(m) + "\n" for m in recorded))
    state, posted = AppState(clock=lambda: T0 + 100), list[Any]()
    meta1 = {"sweep_job": 1, "overrides": ["model/architectures=craft"]}
    state.ingest(hello(0, 1, str(running), meta1), "live1")
    source = LiveFeed(state, posted.append, group="g")

    await source.backfill(live={str(running)})
    await source.backfill(live={str(running)})  # read once, not twice

    rows = derive.sweep_rows(state.jobs, state.now())
    assert [(r.index, r.status, r.best_hmean) for r in rows] == [
        (0, "done", 0.25),
        (1, "connecting", None),
    ]
    assert state.view.current == str(running)  # the running job keeps the screen
    assert [m.job_key for m in posted if isinstance(m, JobFinished)] == [str(early)]
    assert state.jobs[str(early)].connection == "closed"


async def test_a_registered_job_that_ended_before_we_connected_is_read_back(
    tmp_path: Path,
) -> None:
    from ocrtop.tui.core.feeds.live import LiveFeed

    run = tmp_path / "sweep" / "0_dbnet"
    run.mkdir(parents=True)
    meta = {"sweep_job": 0, "overrides": ["model/architectures=dbnet"]}
    recorded = [hello(0, 1, str(run), meta), msg("status", 1, {"status": "done"}, t=T0 + 2)]
    (run / "events.jsonl").write_text("".join(json.dumps(m) + "\n" for m in recorded))
    state = AppState(clock=lambda: T0 + 10)
    source = LiveFeed(state, list[Any]().append, group="g")
    source.seen[str(run)] = meta  # in the registry at one poll, gone before the connect

    await source.backfill(live={str(run)})
    assert not state.jobs  # still registered: the live connection is expected to win
    await source.backfill(live=set())
    assert state.job is not None and state.job.status == "done"


async def test_a_job_whose_publisher_re_registered_is_followed_again(monkeypatch: Any) -> None:
    """A later stage that reopened the publisher (no linger) is followed; a stale entry not."""
    entry = SimpleNamespace(job_id="j", run_dir="/runs/j", start_time=T0, meta={})
    monkeypatch.setattr(ocrtop.tui.core.feeds.live, "_list_group", lambda group: [entry])
    clients: list[FakeClient] = []

    async def connect(target: str) -> FakeClient:
        client = FakeClient(hello(0, 1, "/runs/j"))
        client.push(msg("status", len(clients) + 1, {"status": "done"}))
        client.push(None)  # the stage closed its stream
        clients.append(client)
        return client

    async def until(cond: Any) -> None:
        for _ in range(200):
            if cond():
                return
            await asyncio.sleep(0.01)
        raise AssertionError("timed out")

    state = AppState(clock=lambda: T0 + 10)
    source = ocrtop.tui.core.feeds.live.LiveFeed(
        state, list[Any]().append, group="g", connect=connect
    )
    source.poll_s = 0.01
    task = asyncio.create_task(source.run())
    try:
        await until(lambda: source.tasks.get("j") is not None and source.tasks["j"].done())
        await asyncio.sleep(0.05)
        assert len(clients) == 1  # the finished stage's entry is not followed twice
        entry.start_time = T0 + 5  # the test stage registered the job again
        await until(lambda: len(clients) == 2)
        await until(lambda: source.tasks["j"].done())
        assert state.jobs["/runs/j"].connection == "closed"
    finally:
        await source.aclose()
        task.cancel()
