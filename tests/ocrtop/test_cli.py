"""The ``ocrtop`` entry point dispatches each subcommand, passing arguments verbatim."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

import ocrtop.bridge.cli
import ocrtop.tui.cli
from ocrtop import cli


def recorder(calls: list[tuple[str, Any]], name: str, code: int = 0) -> Any:
    def record(*args: Any) -> int:
        calls.append((name, args))
        return code

    return record


def test_usage_and_unknown_commands(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["--help"]) == 0
    assert "attach [JOB | ssh://host/JOB]" in capsys.readouterr().out
    assert cli.main([]) == 2
    assert cli.main(["fly"]) == 2
    assert "unknown command 'fly'" in capsys.readouterr().err


def test_tui_commands_get_their_arguments_verbatim(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, Any]] = []
    for name in ("train", "attach", "replay"):
        monkeypatch.setattr(ocrtop.tui.cli, name, recorder(calls, name, 7))
    assert cli.main(["train", "-m", "model/architectures=dbnet,craft", "--headless"]) == 7
    assert cli.main(["attach", "ssh://gpu1/abc"]) == 7
    assert cli.main(["replay", "outputs/x"]) == 7
    assert calls == [
        ("train", (["-m", "model/architectures=dbnet,craft", "--headless"],)),
        ("attach", (["ssh://gpu1/abc"],)),
        ("replay", (["outputs/x"],)),
    ]


def test_data_and_eval_go_to_ocr_cli_with_the_subcommand(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, Any]] = []
    monkeypatch.setattr("ocrtop.ocr.cli.main", recorder(calls, "ocr", 1))
    assert cli.main(["data", "check", "ds"]) == 1
    assert cli.main(["eval", "--gt", "g.json", "--pred", "p.json"]) == 1
    assert calls == [("ocr", (["data", "check", "ds"],)),
                     ("ocr", (["eval", "--gt", "g.json", "--pred", "p.json"],))]  # fmt: skip


def test_job_commands_go_to_the_bridge(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, Any]] = []
    for name in ("ps", "tail", "profile", "relay"):
        monkeypatch.setattr(ocrtop.bridge.cli, name, recorder(calls, name))
    cli.main(["ps", "--json"])
    cli.main(["tail", "abc", "-f"])
    cli.main(["profile", "abc", "--steps", "5"])
    cli.main(["relay", "abc"])
    assert calls == [("ps", (True,)), ("tail", ("abc", False, True)),
                     ("profile", ("abc", 5, False, True, 1800.0)), ("relay", ("abc",))]  # fmt: skip


@pytest.mark.slow
def test_python_dash_m_ocrtop_runs_without_torch() -> None:
    code = ("import runpy, sys; sys.argv = ['ocrtop', '--help']\n"
            "try:\n    runpy.run_module('ocrtop', run_name='__main__')\n"
            "except SystemExit as e:\n    assert e.code == 0, e.code\n"
            "import ocrtop.tui.app, ocrtop.tui.cli\n"
            "assert 'torch' not in sys.modules, 'ocrtop pulled in torch'\n")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "usage: ocrtop" in done.stdout
