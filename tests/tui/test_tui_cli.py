"""``ocrtop train/attach/replay`` argument handling and the headless paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tui_fixtures import make_stream

from tui import cli
from tui.child import ENV_TRAIN_SCRIPT, train_script


def test_own_flags_are_taken_and_hydra_overrides_pass_verbatim() -> None:
    argv = ["--headless", "-m", "model/architectures=dbnet,craft", "--profile-steps", "5",
            "trainer.max_epochs=1", "--readonly", "+foo=--bar"]  # fmt: skip
    opts, rest = cli.split_train_args(argv)
    assert opts == {"headless": True, "readonly": True, "profile_steps": 5}
    assert rest == ["-m", "model/architectures=dbnet,craft", "trainer.max_epochs=1", "+foo=--bar"]
    assert cli.split_train_args(["--profile-steps=7"])[0]["profile_steps"] == 7


@pytest.mark.parametrize("bad", ["0", "x", "10001"])
def test_bad_profile_steps_is_an_error_that_says_why(bad: str) -> None:
    with pytest.raises(SystemExit, match="--profile-steps"):
        cli.split_train_args(["--profile-steps", bad])


def test_train_script_is_found_without_importing_runners(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_TRAIN_SCRIPT, raising=False)
    path = train_script()
    assert path.name == "train.py" and path.parent.name == "runners" and path.is_file()
    monkeypatch.setenv(ENV_TRAIN_SCRIPT, "/somewhere/else.py")
    assert train_script() == Path("/somewhere/else.py")


def test_headless_replay_prints_and_exits_with_the_job_status(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "events.jsonl").write_text(
        "".join(json.dumps(m) + "\n" for m in make_stream(steps=25, finish=True))
    )
    assert cli.replay(["--headless", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "step 25/60" in out and "[alert] warning firing DATA_WAIT_HIGH" in out
    assert "finished: done (exit code 0)" in out


def test_attach_without_jobs_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OCRTOP_RUNTIME_DIR", str(tmp_path / "rt"))
    assert cli.attach(["--headless"]) == 2
    assert "no running ocrtop job" in capsys.readouterr().err
