"""Alert hints speak of the DataLoader's own arguments; ocrtop's config keys only for our jobs."""

from __future__ import annotations

from types import SimpleNamespace

from ocr.callbacks.alert_rules import AlertThresholds, default_rules
from ocr.callbacks.alerts import AlertsCallback


def hints(own: bool) -> dict[str, str]:
    return {rule.code: rule.hint for rule in default_rules(AlertThresholds(), own=own)}


def test_a_users_job_gets_dataloader_terms_and_no_config_paths() -> None:
    user = hints(own=False)
    assert "DataLoader's num_workers" in user["data_bound"]
    assert "pin_memory=True" in user["gpu_underutilized"]
    joined = " ".join(user.values())
    assert "data.num_workers" not in joined and "ocrtop config" not in joined
    assert "dataset cache" not in joined  # ocrtop's own feature, meaningless to a user


def test_our_own_job_adds_the_config_keys() -> None:
    ours = hints(own=True)
    assert "DataLoader's num_workers" in ours["data_bound"]
    assert "(ocrtop config: data.num_workers" in ours["data_bound"]


def test_the_callback_tells_our_detector_from_a_users_module() -> None:
    from ocr.lightning.module import DetectionModule

    cb = AlertsCallback()
    trainer = SimpleNamespace()
    cb.on_train_start(trainer, object.__new__(DetectionModule))  # type: ignore[arg-type]
    assert "ocrtop config" in {r.code: r.hint for r in cb.engine.rules}["data_bound"]
    cb.on_train_start(trainer, SimpleNamespace())  # type: ignore[arg-type]
    assert "ocrtop config" not in {r.code: r.hint for r in cb.engine.rules}["data_bound"]
    cb._stop_watchdog()
