"""``check_log``: what is wrong with an events file, found without reading all of it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ocrtop.bridge.cli import tail
from ocrtop.bridge.eventlog import check_log
from ocrtop.bridge.protocol import Message

EVENT = Message("log", 1.0, 1, payload={"message": "x"}).encode()


def test_a_sound_log_has_no_problem(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_bytes(EVENT * 3)
    assert check_log(tmp_path / "e.jsonl") is None


def test_a_log_cut_inside_its_first_line_has_nothing_to_replay(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_bytes(EVENT[:10])
    problem = check_log(tmp_path / "e.jsonl")
    assert problem is not None and problem.kind == "truncated" and problem.fatal
    assert problem.detail == "truncated at line 1 (byte 0)"


def test_a_cut_log_counts_its_complete_lines(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_bytes(EVENT * 1000 + EVENT[:7])
    problem = check_log(tmp_path / "e.jsonl")
    assert problem is not None and not problem.fatal and problem.complete_lines == 1000
    assert problem.detail == f"truncated at line 1001 (byte {len(EVENT) * 1000})"


def test_blank_only_and_directories_are_named(tmp_path: Path) -> None:
    (tmp_path / "e.jsonl").write_bytes(b"\n\n  \n")
    assert str(check_log(tmp_path / "e.jsonl")).endswith("empty: no events were recorded")
    problem = check_log(tmp_path)
    assert problem is not None and problem.kind == "missing" and problem.fatal


def test_tail_of_a_foreign_file_says_so_and_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "events.jsonl").write_text('{"loss": 1}\n')
    assert tail(str(tmp_path)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"ocrtop tail: {tmp_path / 'events.jsonl'}: not an ocrtop event log")
