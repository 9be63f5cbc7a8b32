"""Alert rules against synthetic sample sequences: sustained firing, hysteresis clearing."""

from __future__ import annotations

import math

import pytest

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.alerting.engine import AlertEngine
from ocrtop.ocr.callbacks.alerting.rules import (
    BASELINE_KEY,
    SINCE_STEP_KEY,
    AlertThresholds,
    default_rules,
    stall_rule,
)

TH = AlertThresholds(sustain_s=10.0, clear_s=5.0, hysteresis=0.1)


def run(
    engine: AlertEngine, seq: list[tuple[float, dict[str, float]]]
) -> list[tuple[float, str, str]]:
    """Feed (t, values) pairs; return (t, code, state) of every change."""
    out = []
    for t, values in seq:
        out += [(t, a.code, a.state) for a in engine.evaluate(values, t)]
    return out


def eff(share: float) -> dict[str, float]:
    return {names.THROUGHPUT_EFFICIENCY: 1.0 - share, names.DATA_WAIT_MS_P50: 40.0}


def test_data_bound_fires_only_after_sustain_and_clears_with_hysteresis() -> None:
    engine = AlertEngine(default_rules(TH))
    seq = [(float(t), eff(0.5)) for t in range(0, 12)]  # high for 11 s
    changes = run(engine, seq)
    assert changes == [(10.0, "data_bound", "firing")]
    # Just below the fire threshold but inside the hysteresis band: stays firing.
    assert run(engine, [(float(t), eff(0.28)) for t in range(12, 30)]) == []
    # Clearly below: clears after clear_s.
    assert run(engine, [(float(t), eff(0.1)) for t in range(30, 40)]) == [
        (35.0, "data_bound", "cleared")
    ]


def test_interrupted_condition_restarts_the_sustain_window() -> None:
    engine = AlertEngine(default_rules(TH))
    seq = [(float(t), eff(0.5 if t % 8 else 0.1)) for t in range(0, 30)]
    assert run(engine, seq) == []


def test_firing_alert_carries_numbers_message_and_hint() -> None:
    engine = AlertEngine(default_rules(TH))
    alerts = [a for t in range(12) for a in engine.evaluate(eff(0.6), float(t))]
    (alert,) = alerts
    payload = alert.payload()
    assert payload["severity"] == "warning" and payload["state"] == "firing"
    assert payload["values"]["data_wait_share"] == pytest.approx(0.6)
    assert "60%" in payload["message"] and payload["hint"]


@pytest.mark.parametrize(
    ("code", "bad", "good"),
    [
        ("system_memory_pressure", {names.RAM_PERCENT: 95.0}, {names.RAM_PERCENT: 50.0}),
        ("io_wait", {names.CPU_IOWAIT: 40.0}, {names.CPU_IOWAIT: 2.0}),
        (
            "gpu_temperature",
            {names.gpu(1, "temp_c"): 91.0, names.gpu(0, "temp_c"): 60.0},
            {names.gpu(1, "temp_c"): 70.0, names.gpu(0, "temp_c"): 60.0},
        ),
        (
            "gpu_throttling",
            {names.gpu(0, "throttle"): float(0x40)},
            {names.gpu(0, "throttle"): 1.0},
        ),
        (
            "process_memory_pressure",
            {names.PROC_PSS_BYTES: 9e9, names.RAM_TOTAL_BYTES: 10e9},
            {names.PROC_PSS_BYTES: 1e9, names.RAM_TOTAL_BYTES: 10e9},
        ),
        (
            "gpu_underutilized",
            {names.gpu(0, "util"): 10.0, **eff(0.6)},
            {names.gpu(0, "util"): 95.0, **eff(0.05)},
        ),
        (
            "throughput_drop",
            {names.SAMPLES_PER_SECOND: 50.0, BASELINE_KEY: 100.0},
            {names.SAMPLES_PER_SECOND: 98.0, BASELINE_KEY: 100.0},
        ),
    ],
)
def test_each_rule_fires_and_clears(
    code: str, bad: dict[str, float], good: dict[str, float]
) -> None:
    engine = AlertEngine(default_rules(TH))
    seq = [(float(t), bad) for t in range(12)] + [(float(t), good) for t in range(12, 20)]
    changes = [(t, c, s) for t, c, s in run(engine, seq) if c == code]
    assert changes == [(10.0, code, "firing"), (17.0, code, "cleared")]


def test_benign_throttle_reasons_and_missing_inputs_never_fire() -> None:
    engine = AlertEngine(default_rules(TH))
    idle = {names.gpu(0, "throttle"): float(0x1 | 0x2 | 0x100)}
    assert run(engine, [(float(t), idle) for t in range(30)]) == []
    assert run(engine, [(float(t), {}) for t in range(30, 60)]) == []


def test_process_memory_alert_reads_pss_not_the_summed_rss() -> None:
    # Forked workers sharing the trainer's pages: RSS sums to 3x what the tree holds.
    engine = AlertEngine(default_rules(TH))
    shared = {names.PROC_RSS_BYTES: 9e9, names.PROC_PSS_BYTES: 3e9, names.RAM_TOTAL_BYTES: 10e9}
    assert run(engine, [(float(t), shared) for t in range(30)]) == []
    rss_only = {names.PROC_RSS_BYTES: 9e9, names.RAM_TOTAL_BYTES: 10e9}
    assert run(engine, [(float(t), rss_only) for t in range(30, 60)]) == []


def test_nonfinite_loss_fires_immediately_and_clears() -> None:
    engine = AlertEngine(default_rules(TH))
    seq = [(0.0, {names.TRAIN_LOSS: 1.0}), (1.0, {names.TRAIN_LOSS: math.nan})]
    seq += [(float(t), {names.TRAIN_LOSS: 0.5}) for t in range(2, 9)]
    assert run(engine, seq) == [
        (1.0, "nonfinite_loss", "firing"),
        (7.0, "nonfinite_loss", "cleared"),
    ]


def test_stall_rule() -> None:
    engine = AlertEngine([stall_rule(AlertThresholds(stall_s=60.0))])
    seq = [(float(t), {SINCE_STEP_KEY: float(t)}) for t in range(0, 80, 10)]
    seq.append((80.0, {SINCE_STEP_KEY: 0.1}))
    assert run(engine, seq) == [(70.0, "stalled", "firing"), (80.0, "stalled", "cleared")]


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
