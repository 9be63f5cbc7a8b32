"""Profiling windows from config and from a bridge command, and their analysis."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from torch.utils.data import DataLoader

from ocrtop.bridge.client import BridgeClient
from ocrtop.ocr.callbacks.bridge import BridgeCallback
from ocrtop.ocr.callbacks.profiler import ProfilerCallback
from ocrtop.ocr.callbacks.profiling.analysis import (
    STEP_SCOPE,
    bottleneck_summary,
    cap_trace,
    format_table,
    split_from_steps,
    top_k_ops,
)
from tests.helpers.bridge_probe import ClientThread
from tests.helpers.toy_training import SleepyDataset, ToyModule, collate, loader, make_trainer


def evt(
    key: str, self_cpu: float, self_dev: float = 0.0, total: float = 0.0, count: int = 1
) -> Any:
    return SimpleNamespace(
        key=key,
        self_cpu_time_total=self_cpu,
        self_device_time_total=self_dev,
        cpu_time_total=total or self_cpu,
        count=count,
    )


def test_top_k_ranks_by_self_time_and_merges_step_scopes() -> None:
    rows = top_k_ops(
        [
            evt("aten::conv2d", 100.0, total=9000.0),
            evt("aten::mkldnn_convolution", 8000.0),
            evt("ProfilerStep#3", 500.0),
            evt("ProfilerStep#4", 700.0),
        ],
        k=2,
    )
    assert [r["name"] for r in rows] == ["aten::mkldnn_convolution", STEP_SCOPE]
    assert rows[1]["self_cpu_ms"] == pytest.approx(1.2) and rows[1]["calls"] == 2
    # With device time recorded, device self time decides.
    rows = top_k_ops([evt("cpu_heavy", 9000.0), evt("gemm_kernel", 10.0, self_dev=5000.0)], k=1)
    assert rows[0]["name"] == "gemm_kernel" and rows[0]["self_cuda_ms"] == 5.0
    assert "gemm_kernel" in format_table(rows)


def test_split_and_summary_name_the_bottleneck() -> None:
    split = split_from_steps([(30.0, 8.0, 2.0, 0.0), (50.0, 8.0, 2.0, 0.0)])
    assert (split.data_wait_ms, split.forward_backward_ms, split.optimizer_ms, split.steps) == (
        40.0,
        8.0,
        2.0,
        2,
    )
    text = bottleneck_summary(split, top_k_ops([evt("aten::addmm", 3000.0)], 5))
    assert text.startswith("input-bound") and "80%" in text and "aten::addmm" in text
    compute = bottleneck_summary(split_from_steps([(1.0, 20.0, 1.0, 2.0)]), [])
    assert compute.startswith("compute-bound")
    hooks = bottleneck_summary(split_from_steps([(1.0, 5.0, 1.0, 30.0)]), [])
    assert hooks.startswith("overhead-bound") and "hooks and logging" in hooks


def test_cap_trace_keeps_metadata_and_longest_events(tmp_path: Path) -> None:
    events: list[dict[str, Any]] = [{"ph": "M", "name": "thread_name", "args": {"name": "main"}}]
    events += [
        {"ph": "X", "name": f"op{i}", "ts": i, "dur": i, "args": {"pad": "x" * 50}}
        for i in range(1000)
    ]
    path = tmp_path / "t.json"
    path.write_text(json.dumps({"traceEvents": events}))
    assert cap_trace(str(path), path.stat().st_size) is None
    info = cap_trace(str(path), path.stat().st_size // 4)
    assert info is not None and info["kept"] + info["dropped"] == 1000
    data = json.loads(path.read_text())
    kept = data["traceEvents"]
    assert kept[0]["ph"] == "M" and path.stat().st_size <= 1.1 * (
        len(json.dumps({"traceEvents": events})) // 4
    )
    assert min(e["dur"] for e in kept[1:]) > 500  # the longest survive


def load_trace(path: str) -> dict[str, Any]:
    with open(path) as fh:
        data = json.load(fh)
    assert isinstance(data["traceEvents"], list) and data["traceEvents"]
    return data


@pytest.mark.slow
def test_config_windows_profile_the_requested_epochs(tmp_path: Path) -> None:
    prof = ProfilerCallback(
        profile_epochs=[1, 2],
        warmup_steps=1,
        window_steps=3,
        run_dir=str(tmp_path),
        log_top_k_ops=5,
    )
    trainer = make_trainer(tmp_path, [prof], max_epochs=3)
    trainer.fit(ToyModule(), loader(n=32, batch_size=4))
    assert [(r["trigger"], r["recorded_steps"]) for r in prof.results] == [
        ("config", 3),
        ("config", 3),
    ]
    names = sorted(p.name for p in (tmp_path / "profiler_traces").iterdir())
    assert names == ["1-8-config.json", "2-16-config.json"]
    for result in prof.results:
        load_trace(result["trace_path"])
        assert len(result["top_k"]) == 5 and any(
            r["name"].startswith("aten::") for r in result["top_k"]
        )
        assert result["split"]["forward_backward_ms"] > 0 and result["summary"]
        assert result["analysis_ms"] > 0 and result["on_thread_ms"] >= 0
    assert prof.window is None


@pytest.mark.slow
def test_window_cut_short_by_validation_still_reports(tmp_path: Path) -> None:
    prof = ProfilerCallback(
        profile_steps=[1], warmup_steps=1, window_steps=50, run_dir=str(tmp_path)
    )
    trainer = make_trainer(tmp_path, [prof], max_epochs=1)
    trainer.fit(ToyModule(), loader(n=16, batch_size=4), loader(n=4, batch_size=4))
    (result,) = prof.results
    assert result["recorded_steps"] == 2  # steps 2 and 3 of 4; step 1 was warmup
    load_trace(result["trace_path"])


@pytest.mark.slow
def test_profile_command_over_the_bridge_mid_training(tmp_path: Path) -> None:
    bridge = BridgeCallback(run_dir=str(tmp_path))
    prof = ProfilerCallback(warmup_steps=1, run_dir=str(tmp_path))

    async def script(path: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        client = await BridgeClient.connect(path)
        acks: list[dict[str, Any]] = []
        profiles: list[dict[str, Any]] = []
        sent = False
        async for msg in client:
            if msg.type == "progress" and not sent:
                await client.send_command("profile", steps=3)
                await client.send_command("profile", steps=3)  # while the first is armed
                sent = True
            elif msg.type == "ack":
                acks.append(msg.payload)
            elif msg.type == "profile" and sent:
                profiles.append(msg.payload)
                if msg.payload["state"] in ("finished", "error"):
                    break
        await client.close()
        return acks, profiles

    probe = ClientThread(bridge, script)
    probe.start()
    trainer = make_trainer(tmp_path, [bridge, prof], max_epochs=1)
    trainer.fit(ToyModule(), loader(n=160, batch_size=4, sleep_ms=5.0))
    acks, profiles = probe.outcome()
    assert [a["ok"] for a in acks] == [True, False]
    assert acks[0]["result"]["steps"] == 3 and "armed" in acks[1]["error"]
    assert [p["state"] for p in profiles] == ["armed", "started", "finished"]
    done = profiles[-1]
    assert done["trigger"] == "command" and done["recorded_steps"] == 3 and done["top_k"]
    assert Path(done["trace_path"]).name.endswith("-command.json")
    load_trace(done["trace_path"])
    assert set(done["split"]) == {"data_wait_ms", "forward_backward_ms", "optimizer_ms", "after_ms"}
    assert done["split"]["data_wait_ms"] > 10.0  # 4 items x 5 ms per batch


def test_warmup_steps_stay_out_of_the_analysed_split(tmp_path: Path) -> None:
    """The two warm-up batches load slowly (100 ms); the three recorded ones do not."""
    fetched = [0]

    def slow_first_two(items: list[dict[str, Any]]) -> dict[str, Any]:
        fetched[0] += 1
        if fetched[0] <= 2:
            time.sleep(0.1)
        return collate(items)

    prof = ProfilerCallback(
        profile_steps=[0],
        warmup_steps=2,
        window_steps=3,
        run_dir=str(tmp_path),
        export_chrome_trace=False,
    )
    trainer = make_trainer(tmp_path, [prof], max_epochs=1)
    data = DataLoader(SleepyDataset(4 * 8, 16), batch_size=4, collate_fn=slow_first_two)
    trainer.fit(ToyModule(), data)
    (result,) = prof.results
    assert result["recorded_steps"] == 3
    assert result["split"]["data_wait_ms"] < 20.0, result["split"]  # 40+ with the warm-up in


@pytest.mark.parametrize(
    ("batches", "expected"), [(4, (3, 1)), (2, (1, 1)), (float("inf"), (3, 5)), (20.0, (3, 5))]
)
def test_a_scheduled_window_is_clipped_to_the_epoch(batches: float, expected: Any) -> None:
    prof = ProfilerCallback(profile_epochs=[0], warmup_steps=3, window_steps=5)
    trainer = SimpleNamespace(current_epoch=0, num_training_batches=batches)
    prof.on_train_epoch_start(trainer, None)  # type: ignore[arg-type]
    assert prof.window is not None
    assert (prof.window.warmup, prof.window.steps) == expected


def test_invalid_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="activities"):
        ProfilerCallback(activities=["tpu"])
    with pytest.raises(ValueError, match="window_steps"):
        ProfilerCallback(window_steps=0)
