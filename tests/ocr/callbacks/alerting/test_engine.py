"""The rule engine's own rules: the rolling baseline, duplicate codes, severities."""

from __future__ import annotations

import pytest

from ocrtop.ocr.callbacks.alerting.engine import AlertEngine, AlertRule, RollingBaseline
from ocrtop.ocr.callbacks.alerting.rules import AlertThresholds, default_rules


def test_rolling_baseline_needs_history_and_freezes() -> None:
    base = RollingBaseline(window_s=100.0, min_span_s=20.0)
    base.add(0.0, 100.0)
    assert base.value() is None
    for t in range(1, 30):
        base.add(float(t), 100.0)
    assert base.value() == 100.0
    base.frozen = True
    for t in range(30, 200):
        base.add(float(t), 10.0)
    assert base.value() == 100.0


def test_engine_rejects_duplicates_and_bad_severity() -> None:
    rule = default_rules(AlertThresholds())[0]
    with pytest.raises(ValueError, match="duplicate"):
        AlertEngine([rule, rule])
    with pytest.raises(ValueError, match="severity"):
        AlertRule("x", "loud", rule.fire, rule.clear, "m", "h")
