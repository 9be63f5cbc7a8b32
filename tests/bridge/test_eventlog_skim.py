"""Seeking and skimming a long event log: what is kept, what is thinned, where it joins."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from ocrtop.bridge.eventlog import read_events, skim_events
from ocrtop.bridge.protocol import encode_event

STEPS = 6_000


@pytest.fixture(scope="module")
def long_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A run as the trainer writes it: per-step metrics and progress, rare events between."""
    path = tmp_path_factory.mktemp("skim") / "events.jsonl"
    seq = itertools.count(1)
    lines = [encode_event("status", 0.0, next(seq), None, None, {"status": "setup"})]
    for step in range(STEPS):
        t = 1.0 + step
        lines.append(encode_event("metrics", t, next(seq), step, 0,
                                  {"values": {"train/loss": 1 / (step + 1)}}))  # fmt: skip
        lines.append(encode_event("progress", t, next(seq), step, 0, {"step": step}))
        if step % 1000 == 999:
            lines.append(encode_event("metrics", t, next(seq), step, 0,
                                      {"values": {"val/hmean": step / STEPS}}))  # fmt: skip
            lines.append(encode_event("log", t, next(seq), step, 0, {"message": f"e{step}"}))
    lines.append(encode_event("status", 9e9, next(seq), None, None, {"status": "done"}))
    path.write_bytes(b"".join(lines))
    return path


def test_a_skim_keeps_every_rare_event_and_thins_the_per_step_ones(long_log: Path) -> None:
    full = list(read_events(long_log))
    skim = list(skim_events(long_log, budget=300, tail_bytes=4096))
    assert [m.seq for m in skim] == sorted(m.seq for m in skim)  # in order, no duplicate
    full_by_seq = {m.seq: m for m in full}
    assert all(full_by_seq[m.seq] == m for m in skim)  # a sub-sequence of the real thing
    rare = [m.seq for m in full if m.type in ("status", "log") or "val/hmean" in str(m.payload)]
    assert set(rare) <= {m.seq for m in skim}
    dense = [m for m in skim if m.type in ("metrics", "progress") and "val/" not in str(m.payload)]
    assert 150 <= len(dense) <= 900, len(dense)  # about the budget (plus the exact tail)
    steps = [m.step for m in dense if m.step is not None]
    gaps = sorted(b - a for a, b in itertools.pairwise(steps))
    assert gaps[-1] <= 4 * gaps[len(gaps) // 2]  # evenly spread: no long hole in the history
    assert steps[0] < STEPS // 20 and steps[-1] == STEPS - 1  # from the start to the end


def test_a_skim_does_not_alias_with_the_runs_cycle_of_events(tmp_path: Path) -> None:
    """Per-step events come in a fixed cycle (here perf, loss, progress, of fixed sizes,
    with the windows a whole number of cycles): a fixed stride would keep one kind only."""
    lines = []
    for i in range(30_000):
        kind, payload = [("metrics", {"values": {"perf/a": 1.0}}),
                         ("metrics", {"values": {"loss/b": 2.0}}),
                         ("progress", {"step": 1})][i % 3]  # fmt: skip
        lines.append(encode_event(kind, 1.0, 100_000 + i, None, None, payload))
    (tmp_path / "events.jsonl").write_bytes(b"".join(lines))
    cycle = sum(map(len, lines[:3]))
    assert (tmp_path / "events.jsonl").stat().st_size // 500 % cycle == 0  # windows of cycles
    skim = list(skim_events(tmp_path / "events.jsonl", budget=500, tail_bytes=0))
    kinds = [next(iter(m.payload.get("values", {"progress": 0}))) for m in skim]
    shares = {k: kinds.count(k) / len(kinds) for k in ("perf/a", "loss/b", "progress")}
    assert 400 <= len(skim) <= 600 and min(shares.values()) > 0.2, shares


def test_the_tail_of_a_skim_is_exact(long_log: Path) -> None:
    full = list(read_events(long_log))
    skim = list(skim_events(long_log, budget=50, tail_bytes=64 << 10))
    tail = [m for m in full if m.seq > skim[-200].seq]
    assert skim[-len(tail) :] == tail  # the latest values, every one of them


def test_skim_up_to_an_offset_then_read_from_it_is_gapless(long_log: Path) -> None:
    size = long_log.stat().st_size
    for end in (size // 3, size // 2 + 7, size * 9 // 10):
        before = list(skim_events(long_log, budget=100, end=end, tail_bytes=512))
        after = list(read_events(long_log, start=end))
        assert before[-1].seq + 1 == after[0].seq, end  # joined at one line, none twice
