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


def shares(callbacks: list) -> tuple[float | None, float | None]:
    cbs = by_name(callbacks)
    tm, alerts = cbs.get("ThroughputMonitorCallback"), cbs.get("AlertsCallback")
    return (
        getattr(tm, "data_bound_share", None),
        alerts.thresholds.data_bound_share if alerts is not None else None,  # type: ignore[attr-defined]
    )


def test_one_data_bound_share_sets_the_verdict_and_the_alert() -> None:
    from ocrtop.bridge import names

    assert shares(ocrtop.callbacks(bridge=False)) == (names.DATA_BOUND_SHARE,) * 2
    assert shares(ocrtop.callbacks(throughput_monitor={"data_bound_share": 0.4})) == (0.4, 0.4)
    # the alerts' own value wins over the link, as a Hydra override of that key would
    assert shares(ocrtop.callbacks(alerts={"data_bound_share": 0.2}))[1] == 0.2


def test_old_option_names_are_accepted_with_a_deprecation_warning() -> None:
    with pytest.warns(DeprecationWarning, match="is now 'data_bound_share'"):
        cbs = ocrtop.callbacks(throughput_monitor={"data_bound_threshold": 0.35})
    assert shares(cbs) == (0.35, 0.35)  # the alert follows the old spelling too
