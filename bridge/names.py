"""The one vocabulary shared by callbacks, logger, bridge and TUI.

Metric names follow ``split/name``. Per-core, per-GPU and per-rank names are built by the
helper functions, next to the parsers that read them back, so that producers and
consumers cannot disagree on the spelling. Alert codes and the defaults both sides of
the bridge rely on live here too; :data:`ALIASES` keeps the names of older recordings
readable. ``tests/bridge/test_names.py`` fails when ``ocr/``, ``tui/`` or ``bridge/``
spell one of these strings as a literal.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TypeVar

# --- training (LightningModule) ---
TRAIN_LOSS = "train/loss"
TRAIN_LOSS_PROB = "train/loss_prob"
TRAIN_LOSS_THRESH = "train/loss_thresh"
TRAIN_LOSS_BINARY = "train/loss_binary"
TRAIN_LOSS_REGION = "train/loss_region"
TRAIN_LOSS_AFFINITY = "train/loss_affinity"
VAL_LOSS = "val/loss"
VAL_PRECISION = "val/precision"
VAL_RECALL = "val/recall"
VAL_HMEAN = "val/hmean"
TEST_PRECISION = "test/precision"
TEST_RECALL = "test/recall"
TEST_HMEAN = "test/hmean"
VAL_CLEVAL_PRECISION = "val/cleval_precision"
VAL_CLEVAL_RECALL = "val/cleval_recall"
VAL_CLEVAL_HMEAN = "val/cleval_hmean"
TEST_CLEVAL_PRECISION = "test/cleval_precision"
TEST_CLEVAL_RECALL = "test/cleval_recall"
TEST_CLEVAL_HMEAN = "test/cleval_hmean"
LR = "train/lr"
"""Learning rate of the first param group, logged every step (``lr`` before; see ALIASES)."""

# --- throughput monitor ---
SAMPLES_PER_SECOND = "perf/samples_per_second"
"""Training images per second (a sample is one page image; older runs also logged the
same figure as ``perf/images_per_second``)."""
BATCHES_PER_SECOND = "perf/batches_per_second"
INSTANCES_PER_SECOND = "perf/instances_per_second"
EPOCH_SAMPLES_PER_SECOND = "perf/epoch_samples_per_second"
STEP_MS = "perf/step_ms"
COMPUTE_MS = "perf/compute_ms"
DATA_WAIT_MS = "perf/data_wait_ms"
"""Time the training loop was blocked in ``next()`` on the train data fetcher (the last
closed step; ``_avg``/``_p50``... over the window). Compute is the rest of the step."""
DATA_WAIT_MS_AVG = "perf/data_wait_ms_avg"
DATA_WAIT_MS_P50 = "perf/data_wait_ms_p50"
DATA_WAIT_MS_P95 = "perf/data_wait_ms_p95"
DATA_WAIT_MS_P99 = "perf/data_wait_ms_p99"
COMPUTE_MS_P50 = "perf/compute_ms_p50"
LOAD_MS = "perf/load_ms"
TRANSFORM_MS = "perf/transform_ms"
TARGET_MS = "perf/target_ms"
"""Worker time spent building targets per batch (sum over its samples)."""
GPU_COMPUTE_MS = "perf/gpu_compute_ms"
"""GPU time of the latest finished step (fetch end to step end), from CUDA events read
back without synchronising (absent on CPU)."""
THROUGHPUT_EFFICIENCY = "perf/throughput_efficiency"
DATA_BOUND = "perf/data_bound"
"""1 when the window's data wait share (1 - throughput efficiency) exceeds the threshold."""
DATA_BOUND_THRESHOLD = "perf/data_bound_threshold"
"""The share the throughput monitor judges ``perf/data_bound`` against, so viewers quote it
(the value of its ``data_bound_share`` option)."""
DATA_BOUND_SHARE = 0.3
"""Default data wait share of step time above which a window is data-bound: the throughput
monitor's verdict and the ``data_bound`` alert (config key
``callbacks.throughput_monitor.data_bound_share``, which ``alerts`` interpolates)."""
DATASET_CACHE_BYTES = "perf/dataset_cache_bytes"
"""Dataset cache bytes summed over the DataLoader workers' latest reports (the main
process's own cache when the loader has no workers)."""
MONITOR_OVERHEAD_PCT = "perf/monitor_overhead_pct"
"""CPU time in ocrtop's per-step hooks and in its ``ocrtop-*`` threads, over the training
step wall time of the same steps, in percent (``ocrtop.ocr.callbacks.timing.overhead``)."""

# --- resource monitor ---
CPU_PERCENT = "sys/cpu_percent"
CPU_IOWAIT = "sys/cpu_iowait_percent"
RAM_USED_BYTES = "sys/ram_used_bytes"
RAM_TOTAL_BYTES = "sys/ram_total_bytes"
RAM_PERCENT = "sys/ram_percent"
PROC_PSS_BYTES = "sys/proc_pss_bytes"
"""Summed PSS of the training process and its DataLoader workers: a page shared by n
processes counts 1/n in each, so the sum is what the tree holds (Linux only)."""
PROC_PSS_PEAK_BYTES = "sys/proc_pss_peak_bytes"
WORKERS_USS_BYTES = "sys/workers_uss_bytes"
"""Summed USS of the DataLoader workers: their private pages, freed if they exit."""
PROC_RSS_BYTES = "sys/proc_rss_bytes"
"""Summed RSS of the process tree: a diagnostic only, it counts every page the workers
share with the trainer once per process (no alert uses it)."""
PROC_RSS_PEAK_BYTES = "sys/proc_rss_peak_bytes"
DISK_READ_BPS = "sys/disk_read_bytes_per_s"
DISK_WRITE_BPS = "sys/disk_write_bytes_per_s"


def cpu_core(i: int) -> str:
    """Utilisation of one logical core, percent."""
    return f"sys/cpu{i}_percent"


GPU_FIELDS = ("util", "mem_used_bytes", "mem_total_bytes", "temp_c", "power_w", "throttle")


def gpu(i: int, field: str) -> str:
    """A per-GPU gauge, e.g. ``gpu(0, "util")`` -> ``gpu0/util``."""
    if field not in GPU_FIELDS:
        raise ValueError(f"unknown GPU field {field!r}; expected one of {GPU_FIELDS}")
    return f"gpu{i}/{field}"


# --- DDP: cross-rank figures (ocrtop.ocr.callbacks.rank_stats), on rank 0's stream and logger ---
DDP_FIELDS = (
    "samples_per_second",
    "data_wait_ms_p95",
    "step_ms",
    "own_step_ms",
    "lateness_ms",
    "pss_bytes",
    "gpu_mem_bytes",
)
"""Per-rank figures over the last gather interval. ``own_step_ms`` is the step time minus
the time the rank waited for the latest-arriving rank; ``lateness_ms`` is how much later
than the earliest rank it had its batch in hand. ``pss_bytes`` is the summed PSS of the
rank's process and its DataLoader workers, not the other ranks (summed RSS where the OS
gives no PSS; runs recorded before it have ``rss_bytes``); ``gpu_mem_bytes`` is what the CUDA
caching allocator holds (0 on CPU)."""
DDP_STATS = ("min", "max", "mean")
DDP_SLOWEST_RANK = "ddp/slowest_rank"
"""The rank with the longest own step time: the one every other rank waits for."""
DDP_SAMPLES_PER_SECOND_TOTAL = "ddp/samples_per_second_total"
"""The whole job's training throughput: the sum over ranks."""


def ddp_stat(field: str, stat: str) -> str:
    """A cross-rank statistic, e.g. ``ddp_stat("step_ms", "max")`` -> ``ddp/step_ms_max``."""
    if field not in DDP_FIELDS or stat not in DDP_STATS:
        raise ValueError(f"unknown DDP figure {field!r}/{stat!r}; fields {DDP_FIELDS}")
    return f"ddp/{field}_{stat}"


def ddp_rank(rank: int, field: str) -> str:
    """One rank's figure as rank 0 publishes it: ``ddp_rank(1, "step_ms")``."""
    if field not in DDP_FIELDS:
        raise ValueError(f"unknown DDP field {field!r}; expected one of {DDP_FIELDS}")
    return f"ddp/rank{rank}/{field}"


_DDP_RANK = re.compile(r"^ddp/rank(\d+)/(\w+)$")


def parse_ddp_rank(name: str) -> tuple[int, str] | None:
    """``ddp/rank1/step_ms`` -> ``(1, "step_ms")``; None for any other name."""
    found = _DDP_RANK.match(name)
    return (int(found.group(1)), found.group(2)) if found else None


# --- alert codes (producers: ocrtop.ocr.callbacks.alerting, rank_stats,
# ocrtop.ocr.lightning.notices) ---
ALERT_DATA_BOUND = "data_bound"
ALERT_GPU_UNDERUTILIZED = "gpu_underutilized"
ALERT_SYSTEM_MEMORY = "system_memory_pressure"
ALERT_PROCESS_MEMORY = "process_memory_pressure"
ALERT_IO_WAIT = "io_wait"
ALERT_GPU_TEMPERATURE = "gpu_temperature"
ALERT_GPU_THROTTLING = "gpu_throttling"
ALERT_THROUGHPUT_DROP = "throughput_drop"
ALERT_NONFINITE_LOSS = "nonfinite_loss"
ALERT_STALLED = "stalled"
ALERT_STRAGGLER = "straggler"
"""A DDP rank the others wait for (``ocrtop.ocr.callbacks.rank_stats``)."""
ALERT_DATA_SKIPPED = "data_skipped"
"""Bad dataset entries skipped (``data.on_error=skip``), one alert per split."""
ALERT_EVENT_LOG_FAILED = "event_log_failed"
"""``events.jsonl`` could not be written (ENOSPC...): replay loses the rest of the run."""
ALERT_CODES = (
    ALERT_DATA_BOUND,
    ALERT_GPU_UNDERUTILIZED,
    ALERT_SYSTEM_MEMORY,
    ALERT_PROCESS_MEMORY,
    ALERT_IO_WAIT,
    ALERT_GPU_TEMPERATURE,
    ALERT_GPU_THROTTLING,
    ALERT_THROUGHPUT_DROP,
    ALERT_NONFINITE_LOSS,
    ALERT_STALLED,
    ALERT_STRAGGLER,
    ALERT_DATA_SKIPPED,
    ALERT_EVENT_LOG_FAILED,
)


# --- older names, still readable in replays of old runs ---
ALIASES: dict[str, str] = {
    "lr": LR,
    "perf/images_per_second": SAMPLES_PER_SECOND,
}
"""Old metric name -> the name that replaced it. A viewer reads every ``metrics`` payload
through :func:`canonical`, so a recording made before a rename shows under today's name."""

V = TypeVar("V")


def canonical(values: Mapping[str, V]) -> Mapping[str, V]:
    """``values`` under today's names: an old name is renamed unless the new one is there.

    A stream of this version (the common case, once per metrics message on the viewer's
    ingest path) comes back as the same mapping, not a copy.
    """
    if ALIASES.keys().isdisjoint(values):
        return values
    out = {name: v for name, v in values.items() if name not in ALIASES}
    for old, new in ALIASES.items():
        if old in values:
            out.setdefault(new, values[old])
    return out
