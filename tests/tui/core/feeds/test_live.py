"""The dashboard over a real bridge Publisher: live values, profile command, job end."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from ocrtop.bridge import names
from ocrtop.bridge.publisher import Publisher
from ocrtop.tui.app import OcrtopApp
from ocrtop.tui.core.feeds.live import LiveFeed
from ocrtop.tui.core.state import AppState
from tests.helpers.streams import StreamBuilder, step_metrics
from tests.helpers.tui_fakes import panel_text

pytestmark = pytest.mark.slow


async def until(pilot: Any, condition: Any, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await pilot.pause(0.05)


async def test_dashboard_follows_a_real_publisher(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OCRTOP_RUNTIME_DIR", str(tmp_path / "rt"))
    pub = Publisher(tmp_path / "run", meta={"experiment_name": "live", "arch": "dbnet"},
                    group="g-live")  # fmt: skip
    pub.start()
    pub.publish("status", {"status": "train", "total_steps": 100})
    state = AppState()
    app = OcrtopApp(state, lambda post: LiveFeed(state, post, group="g-live"),
                    tick_hz=20)  # fmt: skip
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            for step in range(1, 6):
                perf, gauges = step_metrics(step)
                pub.publish("progress", {"epoch": 0, "step": step, "total_steps": 100}, step, 0)
                pub.metrics({**perf, **gauges}, step, 0)
            await until(
                pilot, lambda: state.rank is not None and state.rank.progress.get("step") == 5
            )
            job, rank = state.job, state.rank
            assert job is not None and job.job_id == pub.job_id and rank is not None
            assert rank.value(names.SAMPLES_PER_SECOND) is not None

            await pilot.press("p")
            commands: list[Any] = []

            def polled() -> bool:
                commands.extend(pub.poll_commands())
                return bool(commands)

            await until(pilot, polled)
            assert commands[0].command == "profile" and commands[0].args["steps"] == 20
            pub.reply(commands[0], ok=True)
            await until(pilot, lambda: rank.profile.state == "armed")
            result = StreamBuilder().profile(0.0)[-1]["payload"]
            pub.publish("profile", result, 6)
            await until(pilot, lambda: rank.profile.result is not None)
            await until(pilot, lambda: "aten::convolution_backward" in panel_text(app, "profiler"))

            pub.publish("status", {"status": "done", "exit_code": 0})
            pub.close()
            await until(pilot, lambda: job.finished and job.connection == "closed")
            await until(pilot, lambda: type(app.screen).__name__ == "JobFinishedScreen")
    finally:
        pub.close()
