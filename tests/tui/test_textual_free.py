"""Headless mode, ``ocrtop ps`` and ``ocrtop tail`` run without importing Textual.

The import-linter contract in ``pyproject.toml`` checks the import graph of ``ocrtop.tui.core``
and ``ocrtop.tui.headless``; this checks what actually loads: each path runs for real in a
fresh interpreter, which then reports whether any ``textual`` module is in
``sys.modules`` (a lazy import inside a function, executed on the way, counts too).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.streams import make_stream

ROOT = Path(__file__).resolve().parents[2]

PRELUDE = """
import sys, types
# some wheel installs a top-level ``tests`` package into site-packages; pytest finds ours
# through its rootdir, a bare interpreter needs telling
sys.modules["tests"] = types.ModuleType("tests")
sys.modules["tests"].__path__ = [TESTS]
"""

REPORT = """
import json, sys
print(json.dumps({"code": code, "textual": sorted(m for m in sys.modules
                                                  if m.split(".")[0] == "textual")}))
"""

PATHS = {
    "replay --headless": (
        "from ocrtop.cli import main\ncode = main(['replay', '--headless', RUN])\n",
        "samples/s",
    ),
    "attach --headless (live feed, fake bridge client)": (
        "import asyncio\n"
        "from tests.helpers.streams import make_stream\n"
        "from tests.helpers.tui_fakes import FakeClient\n"
        "from ocrtop.tui.core.feeds.live import LiveFeed\n"
        "from ocrtop.tui.core.state import AppState\n"
        "from ocrtop.tui.headless import HeadlessPrinter, run_headless\n"
        "stream = make_stream(steps=6, finish=True)\n"
        "async def connect(target):\n"
        "    client = FakeClient(stream[0])\n"
        "    for msg in stream[1:]: client.push(msg)\n"
        "    client.push(None)\n"
        "    return client\n"
        "state = AppState()\n"
        "printer = HeadlessPrinter(state, sys.stdout, interval=0.0)\n"
        "feed = LiveFeed(state, printer.on_message, target='host/job', connect=connect)\n"
        "code = asyncio.run(run_headless(state, feed, printer, tick_s=0.02))\n",
        "finished: done",
    ),
    "ps": ("from ocrtop.cli import main\ncode = main(['ps'])\n", ""),
    "tail RUN_DIR": ("from ocrtop.cli import main\ncode = main(['tail', RUN])\n", "status"),
}


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    lines = [json.dumps(m) for m in make_stream(steps=6, finish=True)]
    (tmp_path / "events.jsonl").write_text("\n".join(lines) + "\n")
    return tmp_path


def run_path(body: str, run: Path, runtime: Path) -> tuple[dict[str, object], str]:
    """Run ``body`` in a fresh interpreter; its report and everything it printed."""
    code = f"RUN, TESTS = {str(run)!r}, {str(ROOT / 'tests')!r}\n{PRELUDE}{body}{REPORT}"
    env = {"OCRTOP_RUNTIME_DIR": str(runtime), "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    *printed, report = proc.stdout.strip().splitlines()
    return json.loads(report), "\n".join(printed)


@pytest.mark.parametrize("name", sorted(PATHS))
def test_path_imports_no_textual(name: str, run_dir: Path, tmp_path: Path) -> None:
    body, expected = PATHS[name]
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    report, printed = run_path(body, run_dir, runtime)
    assert report["code"] == 0, printed  # the path did its work, not just its imports
    assert expected in printed
    assert report["textual"] == [], f"{name} loaded {report['textual']}"
