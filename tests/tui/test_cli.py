"""``ocrtop train/attach/replay`` argument handling and the headless paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ocrtop.tui import cli
from ocrtop.tui.core.child import ENV_TRAIN_SCRIPT, train_script
from tests.helpers.streams import make_stream


def test_own_flags_are_taken_and_hydra_overrides_pass_verbatim() -> None:
    argv = ["--headless", "-m", "model/architectures=dbnet,craft", "--profile-steps", "5",
            "trainer.max_epochs=1", "--readonly", "+foo=--bar"]  # fmt: skip
    opts, rest = cli.split_train_args(argv)
    assert opts == {"headless": True, "readonly": True, "profile_steps": 5, "script": None}
    assert rest == ["-m", "model/architectures=dbnet,craft", "trainer.max_epochs=1", "+foo=--bar"]
    assert cli.split_train_args(["--profile-steps=7"])[0]["profile_steps"] == 7


def test_script_takes_every_argument_after_it(tmp_path: Path) -> None:
    opts, rest = cli.split_train_args(
        ["--headless", "--script", "my.py", "--lr", "3", "--headless"]
    )
    assert opts["headless"] and opts["script"] == "my.py"
    assert rest == ["--lr", "3", "--headless"]  # the script's own flags, even look-alikes
    assert cli.split_train_args(["--script=a.py"])[0]["script"] == "a.py"
    with pytest.raises(SystemExit, match="--script needs a path"):
        cli.split_train_args(["--script"])


def test_a_missing_script_is_a_one_line_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.train(["--headless", "--script", str(tmp_path / "nope.py")]) == 2
    assert capsys.readouterr().err.strip() == (
        f"ocrtop train --script: {tmp_path / 'nope.py'}: no such file"
    )


def test_a_script_child_runs_the_script_with_the_monitor_switched_on(tmp_path: Path) -> None:
    from ocrtop.tui.core.child import make_child

    script = tmp_path / "my_train.py"
    script.write_text("")
    child = make_child(["--epochs", "2"], outputs=tmp_path, script=str(script))
    assert child.argv[1:] == [str(script), "--epochs", "2"]
    assert child.env == {"OCRTOP": "1"}
    assert make_child([], outputs=tmp_path).env == {}  # our own runner: its config decides


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
