"""Seeking and skimming a long event log: what is kept, what is thinned, where it joins."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from bridge.eventlog import read_events, skim_events
from bridge.protocol import encode_event

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
    early = [m.step for m in dense if m.type == "metrics" and m.step is not None][:50]
    gaps = {b - a for a, b in itertools.pairwise(early)}
    assert len(gaps) == 1  # evenly spread


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
