"""Late-join state: bounded, evenly downsampled history that keeps the latest values."""

from __future__ import annotations

import itertools
from typing import Any

from ocrtop.bridge.protocol import encode_obj
from ocrtop.bridge.snapshot import Series, SnapshotState


def _msg(seq: int, mtype: str, payload: dict[str, Any], step: int | None = None) -> dict[str, Any]:
    return {
        "type": mtype,
        "t": float(seq),
        "seq": seq,
        "step": step,
        "epoch": 0,
        "payload": payload,
    }


def test_series_is_bounded_and_keeps_latest() -> None:
    s = Series(max_points=100)
    for i in range(100_000):
        s.add((i + 1, 0.0, i, 0, float(i)))
    hist = s.history(100)
    assert len(hist) <= 101
    assert hist[0][4] == 0.0 and hist[-1][4] == 99_999.0
    steps = [int(p[2] or 0) for p in hist[:-1]]
    gaps = {b - a for a, b in itertools.pairwise(steps)}
    assert len(gaps) == 1  # evenly spaced


def test_snapshot_events_are_ordered_and_complete() -> None:
    st = SnapshotState(max_points=50, max_logs=5)
    seq = 0
    seq += 1
    st.update(_msg(seq, "status", {"status": "setup", "arch": "dbnet"}))
    for i in range(1000):
        seq += 1
        st.update(_msg(seq, "metrics", {"values": {"train/loss": 1 / (i + 1), "lr": 0.1}}, i))
        if i % 100 == 0:
            seq += 1
            st.update(_msg(seq, "log", {"level": "INFO", "logger": "t", "message": str(i)}))
    seq += 1
    st.update(_msg(seq, "status", {"status": "train"}))
    seq += 1
    st.update(_msg(seq, "alert", {"code": "DATA_BOUND", "state": "firing"}))
    seq += 1
    st.update(_msg(seq, "progress", {"epoch": 0, "step": 999}))
    events = st.events()
    seqs = [e["seq"] for e in events]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)
    statuses = [e["payload"]["status"] for e in events if e["type"] == "status"]
    assert statuses == ["setup", "train"]  # setup meta survives a later status
    losses = [e["payload"]["values"]["train/loss"] for e in events if e["type"] == "metrics"]
    assert 10 < len(losses) <= 51 and losses[-1] == 1 / 1000
    assert len([e for e in events if e["type"] == "log"]) == 5
    assert events[-1]["type"] == "progress"
    assert any(e["type"] == "alert" for e in events)


def test_cleared_alert_is_not_active_but_in_recent() -> None:
    st = SnapshotState()
    st.update(_msg(1, "alert", {"code": "A", "state": "firing"}))
    st.update(_msg(2, "alert", {"code": "A", "state": "cleared"}))
    assert not st.active_alerts and len(st.alerts) == 2


def test_build_fits_in_the_frame_cap() -> None:
    st = SnapshotState(max_points=300)
    for i in range(2000):
        values = {f"sys/cpu{c}_percent": float(c + i) for c in range(64)}
        st.update(_msg(i + 1, "metrics", {"values": values}, i))
    payload = st.build(dropped=3, max_bytes=256 << 10)
    assert payload["dropped"] == 3
    assert len(encode_obj({"type": "snapshot", "payload": payload})) <= 256 << 10
    last = payload["events"][-1]["payload"]["values"]
    assert last["sys/cpu63_percent"] == 63.0 + 1999  # latest values always kept
