"""Data wait measured end to end in a real Lightning loop with an injected sleep."""

from __future__ import annotations

from pathlib import Path

import pytest
from callback_toys import ToyModule, loader, make_trainer

from bridge import names
from ocr.callbacks.alerts import AlertsCallback
from ocr.callbacks.throughput_monitor import ThroughputMonitorCallback

SLEEP_MS_PER_BATCH = 60.0
BATCH = 4


def train(tmp: Path, sleep_ms_per_batch: float) -> tuple[dict[str, float], list[str]]:
    tp = ThroughputMonitorCallback(window_steps=100)
    alerts = AlertsCallback(eval_interval_s=0.05, sustain_s=0.3, clear_s=0.3)
    trainer = make_trainer(tmp, [tp, alerts])
    data = loader(n=BATCH * 32, batch_size=BATCH, batch_sleep_ms=sleep_ms_per_batch, size=32)
    trainer.fit(ToyModule(width=16), train_dataloaders=data)
    return tp.latest_values(), [f"{a.code}:{a.state}" for a in alerts.history]


@pytest.mark.slow
def test_injected_sleep_shows_up_as_data_wait_and_fires_data_bound(tmp_path: Path) -> None:
    fast, fast_alerts = train(tmp_path / "fast", 0.0)
    slow, slow_alerts = train(tmp_path / "slow", SLEEP_MS_PER_BATCH)

    p50 = slow[names.DATA_WAIT_MS_P50]
    assert abs(p50 - SLEEP_MS_PER_BATCH) <= 0.2 * SLEEP_MS_PER_BATCH, p50
    assert fast[names.DATA_WAIT_MS_P50] < 0.2 * SLEEP_MS_PER_BATCH

    # Efficiency = compute / (compute + wait) falls to what the sleep implies (the window
    # uses sums, so a slow first step moves it a little off the medians: 0.15 slack).
    compute = slow[names.COMPUTE_MS_P50]
    expected = compute / (compute + SLEEP_MS_PER_BATCH)
    assert slow[names.THROUGHPUT_EFFICIENCY] == pytest.approx(expected, abs=0.15)
    assert fast[names.THROUGHPUT_EFFICIENCY] > 0.8
    assert slow[names.THROUGHPUT_EFFICIENCY] < fast[names.THROUGHPUT_EFFICIENCY] - 0.3
    assert slow[names.DATA_BOUND] == 1.0 and fast[names.DATA_BOUND] == 0.0

    assert "data_bound:firing" in slow_alerts
    assert fast_alerts == []
