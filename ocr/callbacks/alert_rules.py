"""The default alert rules and their thresholds.

Each rule reads metric names from :mod:`bridge.names` (plus the few derived keys below),
so any monitor that publishes those names can feed it. Clear thresholds sit a
``hysteresis`` fraction inside the fire thresholds so a value hovering at the limit
does not flap.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from bridge import names
from ocr.callbacks.alert_engine import AlertRule, Check, Values
from ocr.callbacks.nvml import THROTTLE_HARMFUL_MASK

LOSS_KEY = names.TRAIN_LOSS
BASELINE_KEY = "alerts/samples_per_second_baseline"
"""Rolling median of ``perf/samples_per_second``, fed by the alerts callback."""
SINCE_STEP_KEY = "alerts/seconds_since_progress"
"""Seconds since the last training or validation batch, fed by the watchdog."""

_GPU_RE = re.compile(r"^gpu(\d+)/(\w+)$")


@dataclass(frozen=True)
class AlertThresholds:
    """Limits for the default rules (every field is a config key of the alerts callback)."""

    sustain_s: float = 30.0
    clear_s: float = 15.0
    hysteresis: float = 0.1
    data_bound_share: float = 0.3
    gpu_util_low: float = 50.0
    ram_percent_high: float = 90.0
    process_ram_fraction_high: float = 0.8
    iowait_percent_high: float = 20.0
    gpu_temp_c_high: float = 85.0
    throughput_drop_fraction: float = 0.3
    stall_s: float = 300.0


def _gpu_field(values: Values, field: str) -> dict[int, float]:
    out = {}
    for key, v in values.items():
        m = _GPU_RE.match(key)
        if m and m.group(2) == field:
            out[int(m.group(1))] = float(v)
    return out


def _share(values: Values) -> float | None:
    eff = values.get(names.THROUGHPUT_EFFICIENCY)
    return None if eff is None else 1.0 - float(eff)


def default_rules(th: AlertThresholds) -> list[AlertRule]:
    """Every rule except the stall watchdog's (see :func:`stall_rule`)."""
    inner = 1.0 - th.hysteresis
    common = {"sustain_s": th.sustain_s, "clear_s": th.clear_s}

    def data_bound(limit: float) -> Check:
        def check(v: Values) -> tuple[bool, dict[str, float]] | None:
            share = _share(v)
            if share is None:
                return None
            nums = {
                "data_wait_share": share,
                "data_wait_ms_p50": v.get(names.DATA_WAIT_MS_P50, 0.0),
            }
            return share > limit, nums

        return check

    def gpu_idle(util_limit: float, share_limit: float, clearing: bool) -> Check:
        def check(v: Values) -> tuple[bool, dict[str, float]] | None:
            utils, share = _gpu_field(v, "util"), _share(v)
            if not utils or share is None:
                return None
            util = sum(utils.values()) / len(utils)
            nums = {"gpu_util": util, "data_wait_share": share}
            if clearing:
                return util > util_limit or share < share_limit, nums
            return util < util_limit and share > share_limit, nums

        return check

    def above(key: str, limit: float, label: str) -> Check:
        def check(v: Values) -> tuple[bool, dict[str, float]] | None:
            x = v.get(key)
            return None if x is None else (float(x) > limit, {label: float(x)})

        return check

    def below(key: str, limit: float, label: str) -> Check:
        def check(v: Values) -> tuple[bool, dict[str, float]] | None:
            x = v.get(key)
            return None if x is None else (float(x) < limit, {label: float(x)})

        return check

    def proc_fraction(limit: float) -> Check:
        def check(v: Values) -> tuple[bool, dict[str, float]] | None:
            rss, total = v.get(names.PROC_RSS_BYTES), v.get(names.RAM_TOTAL_BYTES)
            if rss is None or not total:
                return None
            frac = float(rss) / float(total)
            return frac > limit, {"fraction": frac, "rss_gib": float(rss) / 2**30}

        return check

    def gpu_temp(limit: float) -> Check:
        def check(v: Values) -> tuple[bool, dict[str, float]] | None:
            temps = _gpu_field(v, "temp_c")
            if not temps:
                return None
            gpu, temp = max(temps.items(), key=lambda kv: kv[1])
            return temp > limit, {"gpu": float(gpu), "temp_c": temp}

        return check

    def throttled(v: Values) -> tuple[bool, dict[str, float]] | None:
        masks = _gpu_field(v, "throttle")
        if not masks:
            return None
        bad = {g: int(m) & THROTTLE_HARMFUL_MASK for g, m in masks.items()}
        worst = max(bad, key=lambda g: bad[g])
        return bad[worst] != 0, {"gpu": float(worst), "reasons": float(bad[worst])}

    def not_throttled(v: Values) -> tuple[bool, dict[str, float]] | None:
        verdict = throttled(v)
        return None if verdict is None else (not verdict[0], verdict[1])

    def drop(ratio: float) -> Check:
        def check(v: Values) -> tuple[bool, dict[str, float]] | None:
            sps, base = v.get(names.SAMPLES_PER_SECOND), v.get(BASELINE_KEY)
            if sps is None or not base:
                return None
            nums = {"samples_per_second": float(sps), "baseline": float(base)}
            return float(sps) < ratio * float(base), nums

        return check

    def nonfinite(want_bad: bool) -> Check:
        def check(v: Values) -> tuple[bool, dict[str, float]] | None:
            loss = v.get(LOSS_KEY)
            if loss is None:
                return None
            bad = not math.isfinite(float(loss))
            return bad == want_bad, {"loss": float(loss)}

        return check

    share, util, drop_f = th.data_bound_share, th.gpu_util_low, th.throughput_drop_fraction
    return [
        AlertRule(
            "data_bound",
            "warning",
            data_bound(share),
            _negate(data_bound(share * inner)),
            "data wait is {data_wait_share:.0%} of step time (p50 {data_wait_ms_p50:.1f} ms)",
            "raise data.num_workers, enable the dataset cache or persistent_workers, or "
            "move augmentation work off the critical path",
            **common,
        ),
        AlertRule(
            "gpu_underutilized",
            "warning",
            gpu_idle(util, share, False),
            gpu_idle(util / inner, share * inner, True),
            "GPU utilisation {gpu_util:.0f}% while data wait is {data_wait_share:.0%}",
            "the GPU starves for input: more DataLoader workers, pin_memory, a cache, "
            "or a larger batch size",
            **common,
        ),
        AlertRule(
            "system_memory_pressure",
            "critical",
            above(names.RAM_PERCENT, th.ram_percent_high, "ram_percent"),
            below(names.RAM_PERCENT, th.ram_percent_high * inner, "ram_percent"),
            "system RAM {ram_percent:.0f}% used",
            "fewer DataLoader workers, a smaller dataset cache or prefetch_factor; "
            "other processes may be using the memory",
            **common,
        ),
        AlertRule(
            "process_memory_pressure",
            "warning",
            proc_fraction(th.process_ram_fraction_high),
            _negate(proc_fraction(th.process_ram_fraction_high * inner)),
            "training process tree holds {fraction:.0%} of RAM ({rss_gib:.1f} GiB)",
            "each DataLoader worker copies the dataset: reduce num_workers or the cache, "
            "or keep annotations in numpy arrays rather than Python lists",
            **common,
        ),
        AlertRule(
            "io_wait",
            "warning",
            above(names.CPU_IOWAIT, th.iowait_percent_high, "iowait"),
            below(names.CPU_IOWAIT, th.iowait_percent_high * inner, "iowait"),
            "CPU iowait {iowait:.0f}%",
            "the disk is the bottleneck: cache decoded images, use local SSD, or "
            "pre-resize the dataset",
            **common,
        ),
        AlertRule(
            "gpu_temperature",
            "warning",
            gpu_temp(th.gpu_temp_c_high),
            _negate(gpu_temp(th.gpu_temp_c_high - 5.0)),
            "gpu{gpu:.0f} at {temp_c:.0f} °C",
            "check cooling and fan speed; the GPU will throttle its clocks if it keeps heating",
            **common,
        ),
        AlertRule(
            "gpu_throttling",
            "warning",
            throttled,
            not_throttled,
            "gpu{gpu:.0f} clocks throttled (NVML reasons 0x{reasons:.0f})",
            "power or thermal limits cut the clocks: check cooling and power caps "
            "(nvidia-smi -q -d PERFORMANCE)",
            **common,
        ),
        AlertRule(
            "throughput_drop",
            "warning",
            drop(1.0 - drop_f),
            _negate(drop(1.0 - drop_f / 2.0)),
            "{samples_per_second:.1f} samples/s vs usual {baseline:.1f}",
            "look at data wait and the resource panel: another process, thermal "
            "throttling or a slower data shard",
            **common,
        ),
        AlertRule(
            "nonfinite_loss",
            "critical",
            nonfinite(True),
            nonfinite(False),
            "training loss is {loss}",
            "lower the learning rate, enable gradient clipping, or check the batch "
            "that produced it (empty targets, bad annotations)",
            0.0,
            th.clear_s,
        ),
    ]


def stall_rule(th: AlertThresholds) -> AlertRule:
    """No training progress for ``stall_s`` seconds (evaluated by a watchdog thread)."""

    def check(v: Values) -> tuple[bool, dict[str, float]] | None:
        since = v.get(SINCE_STEP_KEY)
        return None if since is None else (since > th.stall_s, {"seconds": float(since)})

    def recovered(v: Values) -> tuple[bool, dict[str, float]] | None:
        verdict = check(v)
        return None if verdict is None else (not verdict[0], verdict[1])

    return AlertRule(
        "stalled",
        "critical",
        check,
        recovered,
        "no training step for {seconds:.0f} s",
        "a DataLoader worker may hang (deadlock, network filesystem) or a "
        "collective waits for a dead rank; py-spy dump shows where",
        0.0,
        0.0,
    )


def _negate(check: Check) -> Check:
    def inverted(v: Values) -> tuple[bool, dict[str, float]] | None:
        verdict = check(v)
        return None if verdict is None else (not verdict[0], verdict[1])

    return inverted
