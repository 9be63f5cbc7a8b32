"""``ocrtop.callbacks(**options)``: our YAML's callbacks and option names, in Python."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

import ocrtop
from ocrtop.monitor import config_dir


def by_name(callbacks: list) -> dict[str, object]:
    return {type(cb).__name__: cb for cb in callbacks}


def test_defaults_are_the_yaml_files_values() -> None:
    cbs = by_name(ocrtop.callbacks())
    assert list(cbs) == [
        "ThroughputMonitorCallback",
        "ResourceMonitorCallback",
        "ProfilerCallback",
        "AlertsCallback",
        "RankStatsCallback",
        "BridgeCallback",
    ]
    raw = yaml.safe_load((config_dir() / "throughput_monitor.yaml").read_text())
    assert (
        cbs["ThroughputMonitorCallback"].window_steps == raw["throughput_monitor"]["window_steps"]
    )
    raw = yaml.safe_load((config_dir() / "resource_monitor.yaml").read_text())
    assert cbs["ResourceMonitorCallback"].interval_s == raw["resource_monitor"]["interval_s"]


def test_yaml_option_names_enabled_included_and_a_shared_run_dir(tmp_path) -> None:
    cbs = by_name(
        ocrtop.callbacks(
            run_dir=str(tmp_path),
            throughput_monitor={"enabled": True, "window_steps": 9},
            profiler={"enabled": False},
            alerts=False,
            rank_stats=True,
        )
    )
    assert "ProfilerCallback" not in cbs and "AlertsCallback" not in cbs
    assert cbs["ThroughputMonitorCallback"].window_steps == 9
    assert cbs["BridgeCallback"].run_dir == str(tmp_path)
    assert ocrtop.callbacks(enabled=False) == []


def test_bad_options_name_the_callback_and_the_key() -> None:
    with pytest.raises(TypeError, match=r"throughput_monitor has no option 'windw_steps'"):
        ocrtop.callbacks(throughput_monitor={"windw_steps": 3})
    with pytest.raises(TypeError, match=r"profiler takes a dict of options"):
        ocrtop.callbacks(profiler="yes")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"enabled must be True or False"):
        ocrtop.callbacks(alerts={"enabled": "no"})
    with pytest.raises(TypeError, match=r"lightning must be"):
        ocrtop.callbacks(lightning="tensorflow")


def test_lightning_namespace_is_chosen_or_detected() -> None:
    L = pytest.importorskip("lightning.pytorch", reason="the lightning package is not installed")
    cbs = ocrtop.callbacks(lightning="lightning.pytorch")
    assert cbs and all(isinstance(cb, L.Callback) for cb in cbs)
    assert all(isinstance(cb, L.Callback) for cb in ocrtop.callbacks())  # imported: detected


def test_import_ocrtop_loads_neither_torch_nor_lightning() -> None:
    code = (
        "import sys, ocrtop; heavy = {'torch', 'pytorch_lightning', 'lightning', 'omegaconf'}"
        "; print(sorted(heavy & set(sys.modules)))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
