"""The state model turns a recorded stream into what the panels show."""

from __future__ import annotations

from ocrtop.bridge import names
from ocrtop.tui.core import derive
from ocrtop.tui.core.state import AppState
from tests.helpers.streams import JOB_ID, StreamBuilder, make_stream


def fed(stream: list[dict], stream_key: str = "s0") -> AppState:
    state = AppState(clock=lambda: 1_700_000_030.0)
    for msg in stream:
        state.ingest(msg, stream_key)
    return state


def test_stream_fills_latest_history_progress_and_epochs() -> None:
    state = fed(make_stream(steps=45))
    assert state.job is not None and state.job.job_id == JOB_ID
    rank = state.rank
    assert rank is not None
    assert rank.progress["step"] == 45
    assert rank.value(names.SAMPLES_PER_SECOND) is not None
    assert len(rank.history[names.TRAIN_LOSS].window(None, state.now())) == 45
    assert list(rank.per_epoch[names.VAL_HMEAN]) == [0, 1]
    assert rank.status == "train"


def test_alert_fires_then_clears_and_stays_in_recent() -> None:
    rank = fed(make_stream(steps=20)).rank
    assert rank is not None and "DATA_WAIT_HIGH" in rank.alerts_active
    rank = fed(make_stream(steps=40)).rank
    assert rank is not None and not rank.alerts_active
    assert [a.state for a in rank.alerts_recent] == ["firing", "cleared"]


def test_duplicate_and_snapshot_messages_are_not_counted_twice() -> None:
    stream = make_stream(steps=10)
    state = fed(stream)
    snapshot = {
        "type": "snapshot",
        "t": 0.0,
        "seq": None,
        "step": None,
        "epoch": None,
        "payload": {"events": stream[1:], "dropped": 3},
    }
    state.ingest(snapshot, "s0")
    rank = state.rank
    assert rank is not None
    assert len(rank.history[names.TRAIN_LOSS].window(None, state.now())) == 10
    assert rank.dropped == 3


def test_finished_job_reports_status_and_eta_disappears() -> None:
    state = fed(make_stream(steps=12, finish=True))
    job = state.job
    assert job is not None and job.finished and job.status == "done"
    assert job.primary.status_payload["exit_code"] == 0
    assert derive.eta_seconds(job.primary) is None


def test_eta_follows_the_step_rate() -> None:
    rank = fed(make_stream(steps=20)).rank
    assert rank is not None
    # 2 steps/s, 60 total steps, at step 20 -> 20 s left
    assert derive.eta_seconds(rank) == 20.0
    verdict = derive.verdict(rank)
    assert verdict is not None and verdict.label == "compute-bound"


def test_jobs_and_ranks_are_kept_apart_and_cycled() -> None:
    state = AppState()
    for rank in (0, 1):
        b = StreamBuilder(job_id="ddp", rank=rank, world_size=2)
        for msg in make_stream(steps=3, builder=b):
            state.ingest(msg, f"ddp/{rank}")
    for msg in make_stream(steps=2, builder=StreamBuilder(job_id="sweep-1")):
        state.ingest(msg, "sweep-1")
    assert state.job is not None and state.job.job_id == "sweep-1"
    state.cycle_job(-1)
    assert state.job is not None and state.job.job_id == "ddp" and not state.view.follow
    job = state.job
    assert job is not None and job.world_size == 2 and sorted(job.ranks) == [0, 1]
    state.cycle_rank()
    assert state.view.rank_view == 0
    state.cycle_rank()
    assert state.rank is not None and state.rank.rank == 1
    state.cycle_rank()
    assert state.view.rank_view is None
    assert [row.rank for row in derive.rank_rows(job)] == [0, 1]


def test_session_messages_do_not_advance_the_event_watermark() -> None:
    stream = make_stream(steps=4)
    state = AppState()
    state.ingest(stream[0], "s0")
    last = max(m["seq"] for m in stream)
    # the server stamps session messages with the last event seq already given
    state.ingest(
        {
            "type": "snapshot",
            "t": 1.0,
            "seq": last,
            "payload": {"events": stream[1:], "dropped": 0},
        },
        "s0",
    )
    state.ingest(
        {
            "type": "ack",
            "t": 2.0,
            "seq": last,
            "payload": {"id": "c1", "command": "ping", "ok": True},
        },
        "s0",
    )
    rank = state.rank
    assert rank is not None and rank.progress["step"] == 4 and rank.acks[-1].ok
