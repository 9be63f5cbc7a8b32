"""Check functions for alert rules: each reads named values and says whether a
condition holds, with the numbers behind the verdict (None when inputs are missing).

Kept apart from the rule table so the table reads as a list of policies.
"""

from __future__ import annotations

import math
import re

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.alerting.engine import Check, Values
from ocrtop.ocr.callbacks.sampling.nvml import THROTTLE_HARMFUL_MASK

LOSS_KEY = names.TRAIN_LOSS
BASELINE_KEY = "alerts/samples_per_second_baseline"
"""Rolling median of ``perf/samples_per_second``, fed by the alerts callback."""
SINCE_STEP_KEY = "alerts/seconds_since_progress"
"""Seconds since the last training or validation batch, fed by the watchdog."""

_GPU_RE = re.compile(r"^gpu(\d+)/(\w+)$")


def gpu_field(values: Values, field: str) -> dict[int, float]:
    """Per-GPU values of one gauge, keyed by GPU index (any number of GPUs)."""
    out = {}
    for key, v in values.items():
        m = _GPU_RE.match(key)
        if m and m.group(2) == field:
            out[int(m.group(1))] = float(v)
    return out


def wait_share(values: Values) -> float | None:
    """Data wait share of step time: 1 - throughput efficiency."""
    eff = values.get(names.THROUGHPUT_EFFICIENCY)
    return None if eff is None else 1.0 - float(eff)


def data_bound(limit: float) -> Check:
    """Data wait share above ``limit``."""

    def check(v: Values) -> tuple[bool, dict[str, float]] | None:
        share = wait_share(v)
        if share is None:
            return None
        nums = {
            "data_wait_share": share,
            "data_wait_ms_p50": v.get(names.DATA_WAIT_MS_P50, 0.0),
        }
        return share > limit, nums

    return check


def gpu_idle(util_limit: float, share_limit: float, clearing: bool) -> Check:
    """Mean GPU utilisation low while data wait is high (or, clearing, either recovered)."""

    def check(v: Values) -> tuple[bool, dict[str, float]] | None:
        utils, share = gpu_field(v, "util"), wait_share(v)
        if not utils or share is None:
            return None
        util = sum(utils.values()) / len(utils)
        nums = {"gpu_util": util, "data_wait_share": share}
        if clearing:
            return util > util_limit or share < share_limit, nums
        return util < util_limit and share > share_limit, nums

    return check


def above(key: str, limit: float, label: str) -> Check:
    """``values[key] > limit``, reported as ``label``."""

    def check(v: Values) -> tuple[bool, dict[str, float]] | None:
        x = v.get(key)
        return None if x is None else (float(x) > limit, {label: float(x)})

    return check


def below(key: str, limit: float, label: str) -> Check:
    """``values[key] < limit``, reported as ``label``."""

    def check(v: Values) -> tuple[bool, dict[str, float]] | None:
        x = v.get(key)
        return None if x is None else (float(x) < limit, {label: float(x)})

    return check


def proc_fraction(limit: float) -> Check:
    """Process-tree PSS above ``limit`` of total RAM.

    PSS, not RSS: summed RSS counts the pages forked workers share with the trainer once
    per worker and raised false alarms. Where the OS gives no PSS the rule stays silent.
    """

    def check(v: Values) -> tuple[bool, dict[str, float]] | None:
        pss, total = v.get(names.PROC_PSS_BYTES), v.get(names.RAM_TOTAL_BYTES)
        if pss is None or not total:
            return None
        frac = float(pss) / float(total)
        return frac > limit, {"fraction": frac, "pss_gib": float(pss) / 2**30}

    return check


def gpu_temp(limit: float) -> Check:
    """Hottest GPU above ``limit`` degrees C."""

    def check(v: Values) -> tuple[bool, dict[str, float]] | None:
        temps = gpu_field(v, "temp_c")
        if not temps:
            return None
        gpu, temp = max(temps.items(), key=lambda kv: kv[1])
        return temp > limit, {"gpu": float(gpu), "temp_c": temp}

    return check


def throttled(v: Values) -> tuple[bool, dict[str, float]] | None:
    """Any GPU with a harmful clock-throttle reason (power, thermal, HW slowdown)."""
    masks = gpu_field(v, "throttle")
    if not masks:
        return None
    bad = {g: int(m) & THROTTLE_HARMFUL_MASK for g, m in masks.items()}
    worst = max(bad, key=lambda g: bad[g])
    return bad[worst] != 0, {"gpu": float(worst), "reasons": float(bad[worst])}


def drop(ratio: float) -> Check:
    """Samples/s below ``ratio`` times the rolling baseline."""

    def check(v: Values) -> tuple[bool, dict[str, float]] | None:
        sps, base = v.get(names.SAMPLES_PER_SECOND), v.get(BASELINE_KEY)
        if sps is None or not base:
            return None
        nums = {"samples_per_second": float(sps), "baseline": float(base)}
        return float(sps) < ratio * float(base), nums

    return check


def nonfinite(v: Values) -> tuple[bool, dict[str, float]] | None:
    """The training loss is NaN or Inf."""
    loss = v.get(LOSS_KEY)
    if loss is None:
        return None
    return not math.isfinite(float(loss)), {"loss": float(loss)}


def negate(check: Check) -> Check:
    """The opposite verdict, keeping the numbers (for clear conditions)."""

    def inverted(v: Values) -> tuple[bool, dict[str, float]] | None:
        verdict = check(v)
        return None if verdict is None else (not verdict[0], verdict[1])

    return inverted
