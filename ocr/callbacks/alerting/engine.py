"""A small rule engine: alerts fire on a sustained condition and clear with hysteresis.

Pure Python with explicit timestamps, so rules are tested with synthetic sample
sequences and no clock. A rule fires only after its condition has held for
``sustain_s`` seconds, and clears only after its (looser) clear condition has held for
``clear_s`` seconds; in between, nothing flaps.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ocrtop.ocr.callbacks.sampling.stats import median

Values = Mapping[str, float]
Check = Callable[[Values], "tuple[bool, dict[str, float]] | None"]
"""Returns (condition holds, the numbers behind it), or None when inputs are missing."""

SEVERITIES = ("info", "warning", "critical")


@dataclass(frozen=True)
class AlertRule:
    """One condition worth telling the user about.

    Attributes:
        code: Stable identifier (``data_bound``, ``gpu_temperature``...).
        severity: ``info``, ``warning`` or ``critical``.
        fire: When the problem is present.
        clear: When the problem is clearly over (a looser threshold than ``fire``).
        message: ``str.format`` template over the numbers that ``fire`` returned.
        hint: What the user can do about it.
        sustain_s: How long ``fire`` must hold before the alert fires.
        clear_s: How long ``clear`` must hold before the alert clears.
    """

    code: str
    severity: str
    fire: Check
    clear: Check
    message: str
    hint: str
    sustain_s: float = 30.0
    clear_s: float = 15.0

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"alert {self.code}: severity must be one of {SEVERITIES}")
        if self.sustain_s < 0 or self.clear_s < 0:
            raise ValueError(f"alert {self.code}: sustain_s and clear_s must be >= 0")


@dataclass(frozen=True)
class Alert:
    """A state change of one rule, ready to publish and log."""

    code: str
    severity: str
    state: str  # "firing" | "cleared"
    message: str
    values: dict[str, float]
    hint: str
    t: float

    def payload(self) -> dict[str, Any]:
        """The bridge ``alert`` payload (see docs/contracts.md)."""
        return {
            "code": self.code,
            "severity": self.severity,
            "state": self.state,
            "message": self.message,
            "values": self.values,
            "hint": self.hint,
        }


@dataclass
class _RuleState:
    firing: bool = False
    since: float | None = None  # when the pending transition's condition started holding
    last_values: dict[str, float] = field(default_factory=dict)


class AlertEngine:
    """Evaluates rules against successive value snapshots; returns state changes."""

    def __init__(self, rules: list[AlertRule]) -> None:
        codes = [r.code for r in rules]
        if len(set(codes)) != len(codes):
            raise ValueError(f"duplicate alert codes in {codes}")
        self.rules = rules
        self._state = {r.code: _RuleState() for r in rules}

    def active(self) -> list[str]:
        """Codes currently firing."""
        return [code for code, st in self._state.items() if st.firing]

    def evaluate(self, values: Values, now: float) -> list[Alert]:
        """Advance every rule with one snapshot taken at ``now`` (seconds)."""
        changes: list[Alert] = []
        for rule in self.rules:
            alert = self._step(rule, self._state[rule.code], values, now)
            if alert is not None:
                changes.append(alert)
        return changes

    def _step(self, rule: AlertRule, st: _RuleState, values: Values, now: float) -> Alert | None:
        check = rule.clear if st.firing else rule.fire
        verdict = check(values)
        if verdict is None:  # inputs missing: no evidence either way
            st.since = None
            return None
        holds, numbers = verdict
        if not holds:
            st.since = None
            return None
        if st.since is None:
            st.since = now
        duration = rule.clear_s if st.firing else rule.sustain_s
        if now - st.since < duration:
            return None
        st.since = None
        st.firing = not st.firing
        if st.firing:
            st.last_values = dict(numbers)
            msg = _format(rule.message, numbers)
            return Alert(rule.code, rule.severity, "firing", msg, dict(numbers), rule.hint, now)
        msg = f"cleared: {_format(rule.message, st.last_values)}"
        return Alert(rule.code, rule.severity, "cleared", msg, dict(numbers), rule.hint, now)


class RollingBaseline:
    """Median of a metric over the last ``window_s`` seconds, for "dropped vs usual".

    The baseline is unknown until ``min_span_s`` of history exists, and it can be
    frozen while a drop alert fires so that it does not sink to the degraded level.
    """

    def __init__(self, window_s: float = 300.0, min_span_s: float = 30.0) -> None:
        self.window_s = window_s
        self.min_span_s = min_span_s
        self.frozen = False
        self._points: deque[tuple[float, float]] = deque()

    def add(self, t: float, value: float) -> None:
        """Record one observation (ignored while frozen)."""
        if self.frozen:
            return
        self._points.append((t, value))
        while self._points and self._points[0][0] < t - self.window_s:
            self._points.popleft()

    def value(self) -> float | None:
        """The baseline, or None while history is too short."""
        if not self._points or self._points[-1][0] - self._points[0][0] < self.min_span_s:
            return None
        return median([v for _, v in self._points])


def _format(template: str, numbers: Mapping[str, float]) -> str:
    try:
        return template.format(**numbers)
    except (KeyError, ValueError, IndexError):
        return f"{template} {dict(numbers)}"
