"""The default alert rules and their thresholds.

Each rule reads metric names from :mod:`ocrtop.bridge.names` (plus the few derived keys below),
so any monitor that publishes those names can feed it. Clear thresholds sit a
``hysteresis`` fraction inside the fire thresholds so a value hovering at the limit
does not flap.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.alerting.checks import (
    BASELINE_KEY,
    LOSS_KEY,
    SINCE_STEP_KEY,
    above,
    below,
    data_bound,
    drop,
    gpu_idle,
    gpu_temp,
    negate,
    nonfinite,
    proc_fraction,
    throttled,
)
from ocrtop.ocr.callbacks.alerting.engine import AlertRule, Values

__all__ = [
    "BASELINE_KEY",
    "LOSS_KEY",
    "SINCE_STEP_KEY",
    "AlertThresholds",
    "default_rules",
    "hint",
    "stall_rule",
]


@dataclass(frozen=True)
class AlertThresholds:
    """Limits for the default rules (every field is a config key of the alerts callback)."""

    sustain_s: float = 30.0
    clear_s: float = 15.0
    hysteresis: float = 0.1
    data_bound_share: float = names.DATA_BOUND_SHARE
    gpu_util_low: float = 50.0
    ram_percent_high: float = 90.0
    process_ram_fraction_high: float = 0.8
    iowait_percent_high: float = 20.0
    gpu_temp_c_high: float = 85.0
    throughput_drop_fraction: float = 0.3
    stall_s: float = 300.0


def hint(generic: str, own: bool, config_keys: str) -> str:
    """A hint in the user's own terms (DataLoader arguments), plus ocrtop's config keys
    when the job is ours (``runners/train.py``), where those are the knobs to turn."""
    return f"{generic} (ocrtop config: {config_keys})" if own else generic


def default_rules(th: AlertThresholds, own: bool = False) -> list[AlertRule]:
    """Every rule except the stall watchdog's (see :func:`stall_rule`).

    Args:
        th: The thresholds.
        own: The job is ocrtop's own trainer: hints also name its config keys.
    """
    inner = 1.0 - th.hysteresis
    common = {"sustain_s": th.sustain_s, "clear_s": th.clear_s}

    share, util, drop_f = th.data_bound_share, th.gpu_util_low, th.throughput_drop_fraction
    return [
        AlertRule(
            names.ALERT_DATA_BOUND,
            "warning",
            data_bound(share),
            negate(data_bound(share * inner)),
            "data wait is {data_wait_share:.0%} of step time (p50 {data_wait_ms_p50:.1f} ms)",
            hint(
                "raise the DataLoader's num_workers, set persistent_workers=True, cache "
                "decoded samples, or move augmentation work off the critical path",
                own,
                "data.num_workers, data.persistent_workers, data.train.cache_images",
            ),
            **common,
        ),
        AlertRule(
            names.ALERT_GPU_UNDERUTILIZED,
            "warning",
            gpu_idle(util, share, False),
            gpu_idle(util / inner, share * inner, True),
            "GPU utilisation {gpu_util:.0f}% while data wait is {data_wait_share:.0%}",
            hint(
                "the GPU starves for input: raise the DataLoader's num_workers, set "
                "pin_memory=True, cache decoded samples, or use a larger batch size",
                own,
                "data.num_workers, data.pin_memory, data.batch_size",
            ),
            **common,
        ),
        AlertRule(
            names.ALERT_SYSTEM_MEMORY,
            "critical",
            above(names.RAM_PERCENT, th.ram_percent_high, "ram_percent"),
            below(names.RAM_PERCENT, th.ram_percent_high * inner, "ram_percent"),
            "system RAM {ram_percent:.0f}% used",
            hint(
                "lower the DataLoader's num_workers or prefetch_factor, or cache fewer "
                "samples in memory; other processes may be using the memory",
                own,
                "data.num_workers, data.train.cache_images",
            ),
            **common,
        ),
        AlertRule(
            names.ALERT_PROCESS_MEMORY,
            "warning",
            proc_fraction(th.process_ram_fraction_high),
            negate(proc_fraction(th.process_ram_fraction_high * inner)),
            "training process tree holds {fraction:.0%} of RAM (PSS {pss_gib:.1f} GiB)",
            hint(
                "each DataLoader worker copies the dataset: lower num_workers, cache less, "
                "or keep annotations in numpy arrays rather than Python lists",
                own,
                "data.num_workers, data.train.cache_images",
            ),
            **common,
        ),
        AlertRule(
            names.ALERT_IO_WAIT,
            "warning",
            above(names.CPU_IOWAIT, th.iowait_percent_high, "iowait"),
            below(names.CPU_IOWAIT, th.iowait_percent_high * inner, "iowait"),
            "CPU iowait {iowait:.0f}%",
            hint(
                "the disk is the bottleneck: cache decoded samples, read from a local SSD, "
                "or pre-resize the dataset",
                own,
                "data.train.cache_images",
            ),
            **common,
        ),
        AlertRule(
            names.ALERT_GPU_TEMPERATURE,
            "warning",
            gpu_temp(th.gpu_temp_c_high),
            negate(gpu_temp(th.gpu_temp_c_high - 5.0)),
            "gpu{gpu:.0f} at {temp_c:.0f} °C",
            "check cooling and fan speed; the GPU will throttle its clocks if it keeps heating",
            **common,
        ),
        AlertRule(
            names.ALERT_GPU_THROTTLING,
            "warning",
            throttled,
            negate(throttled),
            "gpu{gpu:.0f} clocks throttled (NVML reasons 0x{reasons:.0f})",
            "power or thermal limits cut the clocks: check cooling and power caps "
            "(nvidia-smi -q -d PERFORMANCE)",
            **common,
        ),
        AlertRule(
            names.ALERT_THROUGHPUT_DROP,
            "warning",
            drop(1.0 - drop_f),
            negate(drop(1.0 - drop_f / 2.0)),
            "{samples_per_second:.1f} samples/s vs usual {baseline:.1f}",
            "look at data wait and the resource panel: another process, thermal "
            "throttling or a slower data shard",
            **common,
        ),
        AlertRule(
            names.ALERT_NONFINITE_LOSS,
            "critical",
            nonfinite,
            negate(nonfinite),
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

    return AlertRule(
        names.ALERT_STALLED,
        "critical",
        check,
        negate(check),
        "no training step for {seconds:.0f} s",
        "a DataLoader worker may hang (deadlock, network filesystem) or a "
        "collective waits for a dead rank; py-spy dump shows where",
        0.0,
        0.0,
    )
