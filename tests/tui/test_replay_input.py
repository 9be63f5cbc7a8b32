"""``ocrtop replay`` and ``ocrtop attach`` on bad input: one line saying which and where.

Exit codes: 0 the replayed job finished ``done``, 1 it did not (or its end was not
recorded), 2 nothing could be replayed or attached to (bad input).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from ocrtop.bridge.publisher import Publisher
from ocrtop.tui import cli
from ocrtop.tui.core.feeds.live import check_attach_target
from tests.helpers.streams import make_stream


def _good_log(path: Path, finish: bool = True) -> bytes:
    data = "".join(json.dumps(m) + "\n" for m in make_stream(steps=25, finish=finish)).encode()
    path.write_bytes(data)
    return data


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, f"expected one line, got {lines}"
    assert "Traceback" not in err
    return lines[0]


def _write_foreign_json(run: Path) -> None:
    (run / "events.jsonl").write_text('{"epoch": 1, "loss": 0.3}\n{"epoch": 2, "loss": 0.2}\n')


def _write_png(run: Path) -> None:
    (run / "events.jsonl").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8000)


@pytest.mark.parametrize(
    ("setup", "expected"),
    [
        (lambda run: None, "{run}/nope: no such file or directory"),
        (lambda run: (run / "nope").mkdir(), "{run}/nope: no events.jsonl here"),
        (lambda run: (run / "nope").mkdir() or (run / "nope" / "events.jsonl").write_text(""),
         "{run}/nope/events.jsonl: empty: no events were recorded"),
    ],
    ids=["missing path", "dir without a log", "empty log"],
)  # fmt: skip
def test_replay_of_nothing_says_which_and_exits_2(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    setup: Callable[[Path], object],
    expected: str,
) -> None:
    setup(tmp_path)
    assert cli.replay(["--headless", str(tmp_path / "nope")]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith("ocrtop replay: " + expected.format(run=tmp_path))


@pytest.mark.parametrize("write", [_write_foreign_json, _write_png], ids=["other jsonl", "binary"])
def test_replay_of_a_foreign_file_says_it_is_not_an_event_log(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], write: Callable[[Path], None]
) -> None:
    write(tmp_path)
    assert cli.replay(["--headless", str(tmp_path)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"ocrtop replay: {tmp_path / 'events.jsonl'}: not an ocrtop event log")


def test_replay_of_a_truncated_log_names_line_and_byte_and_plays_the_rest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = _good_log(tmp_path / "events.jsonl")
    lines = data.splitlines(keepends=True)
    cut = len(data) - len(lines[-1]) - len(lines[-2]) // 2  # mid-way into the second-to-last
    (tmp_path / "events.jsonl").write_bytes(data[:cut])
    complete = len(lines) - 2
    code = cli.replay(["--headless", str(tmp_path)])
    captured = capsys.readouterr()
    line = _one_line(captured.err)
    byte = len(b"".join(lines[:complete]))
    assert line == (
        f"ocrtop replay: {tmp_path / 'events.jsonl'}: truncated at line {complete + 1} "
        f"(byte {byte}); replaying the {complete} complete lines before it"
    )
    assert "step 25/60" in captured.out  # the complete events were played
    assert code == 1  # the log lost its final status: the run's end is not recorded


def test_replay_of_a_good_log_says_nothing_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _good_log(tmp_path / "events.jsonl")
    assert cli.replay(["--headless", str(tmp_path)]) == 0
    assert capsys.readouterr().err == ""


def test_attach_to_a_recorded_run_points_at_replay(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OCRTOP_RUNTIME_DIR", str(tmp_path / "rt"))
    _good_log(tmp_path / "events.jsonl")
    assert cli.attach(["--headless", str(tmp_path)]) == 2
    line = _one_line(capsys.readouterr().err)
    assert line == (
        f"ocrtop attach: {tmp_path}: a recorded run; no live job writes it "
        f"(replay it: ocrtop replay {tmp_path})"
    )


def test_attach_to_a_truncated_recorded_run_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OCRTOP_RUNTIME_DIR", str(tmp_path / "rt"))
    data = _good_log(tmp_path / "events.jsonl")
    (tmp_path / "events.jsonl").write_bytes(data[:-5])
    assert cli.attach(["--headless", str(tmp_path)]) == 2
    assert "truncated at line" in _one_line(capsys.readouterr().err)


@pytest.mark.parametrize(
    ("target", "expected"),
    [("/no/such/run", "/no/such/run: no such socket, run directory or events file"),
     ("deadbeef", "no running job matches 'deadbeef'")],
)  # fmt: skip
def test_attach_to_nothing_says_which_and_exits_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    target: str,
    expected: str,
) -> None:
    monkeypatch.setenv("OCRTOP_RUNTIME_DIR", str(tmp_path / "rt"))
    assert cli.attach(["--headless", target]) == 2
    assert _one_line(capsys.readouterr().err).startswith(f"ocrtop attach: {expected}")


def test_attach_by_run_dir_follows_the_live_job_writing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCRTOP_RUNTIME_DIR", str(tmp_path / "rt"))
    with Publisher(tmp_path / "run") as pub:
        pub.start()
        assert check_attach_target(str(tmp_path / "run")) == (pub.job_id, None)
        assert check_attach_target(str(pub.socket_path)) == (str(pub.socket_path), None)


def test_an_empty_rank_log_is_skipped_and_the_rest_replayed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _good_log(tmp_path / "events.jsonl")
    (tmp_path / "events.rank1.jsonl").write_text("")
    assert cli.replay(["--headless", str(tmp_path)]) == 0
    assert _one_line(capsys.readouterr().err) == (
        f"ocrtop replay: {tmp_path / 'events.rank1.jsonl'}: empty: no events were recorded; "
        "skipping it"
    )
