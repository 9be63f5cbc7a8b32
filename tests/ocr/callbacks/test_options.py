"""One name per option: today's names everywhere, the old ones accepted with one warning."""

from __future__ import annotations

import warnings
from types import SimpleNamespace

import pytest

from ocrtop.bridge import names
from ocrtop.ocr.callbacks import options
from ocrtop.ocr.callbacks.bridge import BridgeCallback
from ocrtop.ocr.callbacks.options import step_cadence
from ocrtop.ocr.callbacks.resource_monitor import ResourceMonitorCallback
from ocrtop.ocr.callbacks.throughput_monitor import ThroughputMonitorCallback


def test_the_cadence_falls_back_to_the_trainer() -> None:
    assert step_cadence(SimpleNamespace(log_every_n_steps=7), None) == 7
    assert step_cadence(SimpleNamespace(log_every_n_steps=7), 3) == 3


def test_old_names_still_work_with_one_deprecation_warning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(options, "_warned", set())
    with pytest.warns(DeprecationWarning, match="'data_bound_threshold' is now 'data_bound_share'"):
        cb = ThroughputMonitorCallback(data_bound_threshold=0.25, log_every_n_steps=4)
    assert cb.data_bound_share == 0.25 and cb.every_n_steps == 4
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the second time: no warning
        again = ThroughputMonitorCallback(data_bound_threshold=0.2)
    assert again.data_bound_share == 0.2
    with pytest.warns(DeprecationWarning, match="'progress_max_hz' is now 'publish_max_hz'"):
        bridge = BridgeCallback(metrics_every_n_steps=3, progress_max_hz=4.0)
    assert bridge.every_n_steps == 3 and bridge._progress_interval == 0.25
    with pytest.warns(DeprecationWarning, match="'log_every_n_steps' is now 'every_n_steps'"):
        assert ResourceMonitorCallback(log_every_n_steps=6).every_n_steps == 6


def test_an_old_name_next_to_its_new_one_or_an_unknown_name_is_refused() -> None:
    with pytest.raises(TypeError, match="not also 'log_every_n_steps'"):
        ThroughputMonitorCallback(every_n_steps=2, log_every_n_steps=3)
    with pytest.raises(TypeError):
        ThroughputMonitorCallback(windw_steps=3)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        BridgeCallback(data_bound_threshold=0.2)  # renamed, but not an option of the bridge


def test_every_monitor_defaults_to_the_one_data_bound_share() -> None:
    from ocrtop.ocr.callbacks.alerts import AlertsCallback

    assert ThroughputMonitorCallback().data_bound_share == names.DATA_BOUND_SHARE
    alerts = AlertsCallback()
    assert alerts.thresholds.data_bound_share == names.DATA_BOUND_SHARE
    alerts._stop_watchdog()
