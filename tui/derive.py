"""Figures the dashboard shows that no single message carries: ETA, verdict, efficiency.

They are computed from the state on demand (a few times per second at most), so their
cost does not depend on the event rate.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge import names
from tui.state import JobState, RankState

DATA_BOUND_SHARE = 0.2
"""Data wait above this share of the step time means the loader, not the model, sets the pace."""


def step_rate(rank: RankState) -> float | None:
    """Optimizer steps per second over the recent progress messages."""
    if len(rank.steps) < 2:
        return None
    (t0, s0), (t1, s1) = rank.steps[0], rank.steps[-1]
    if t1 <= t0 or s1 <= s0:
        return None
    return (s1 - s0) / (t1 - t0)


def total_steps(rank: RankState) -> int | None:
    """Total optimizer steps of the run, from progress or the setup status."""
    total = rank.progress.get("total_steps") or rank.status_payload.get("total_steps")
    return int(total) if total else None


def eta_seconds(rank: RankState) -> float | None:
    """Seconds left at the recent step rate; None until the rate is known or when done."""
    rate, total = step_rate(rank), total_steps(rank)
    step = rank.progress.get("step")
    if rate is None or total is None or step is None or rank.finished:
        return None
    return max(0.0, (total - int(step)) / rate)


def elapsed_seconds(rank: RankState, now: float) -> float | None:
    """Time since the job started; frozen at the last message once it finished."""
    start = rank.hello.get("start_time") or rank.first_t
    if start is None:
        return None
    end = rank.last_t if rank.finished else now
    return max(0.0, end - float(start))


def efficiency(rank: RankState) -> float | None:
    """Fraction of step time spent computing (1.0 = never waiting for data)."""
    reported = rank.value(names.THROUGHPUT_EFFICIENCY)
    if reported is not None:
        return reported / 100.0 if reported > 1.0 else reported
    wait, compute = rank.value(names.DATA_WAIT_MS_P50), rank.value(names.COMPUTE_MS_P50)
    if wait is None or compute is None or wait + compute <= 0:
        return None
    return compute / (wait + compute)


@dataclass(frozen=True)
class Verdict:
    """Data-bound or compute-bound, and the numbers behind it."""

    label: str
    reason: str


def verdict(rank: RankState) -> Verdict | None:
    """Who sets the pace: the data loader or the model. None until there are numbers."""
    wait = rank.value(names.DATA_WAIT_MS_P50)
    step = rank.value(names.STEP_MS)
    flag = rank.value(names.DATA_BOUND)
    if wait is None or step is None or step <= 0:
        if flag is None:
            return None
        return Verdict("data-bound" if flag >= 0.5 else "compute-bound", "reported by trainer")
    share = wait / step
    bound = flag >= 0.5 if flag is not None else share > DATA_BOUND_SHARE
    reason = f"data wait {wait:.1f} ms = {share:.0%} of {step:.1f} ms step"
    return Verdict("data-bound" if bound else "compute-bound", reason)


def gpu_indices(rank: RankState) -> list[int]:
    """GPU indices that reported any gauge, in order."""
    found = {
        int(n[3:].split("/", 1)[0])
        for n in rank.latest
        if n.startswith("gpu") and "/" in n and n[3:].split("/", 1)[0].isdigit()
    }
    return sorted(found)


def cpu_cores(rank: RankState) -> list[float]:
    """Per-core utilisation, core 0 first, as long as consecutive cores reported."""
    cores: list[float] = []
    while (v := rank.value(names.cpu_core(len(cores)))) is not None:
        cores.append(v)
    return cores


@dataclass(frozen=True)
class RankRow:
    """One row of the merged DDP view."""

    rank: int
    samples_per_s: float | None
    data_wait_p95: float | None
    step_ms: float | None
    rss: float | None
    status: str


def rank_rows(job: JobState) -> list[RankRow]:
    """Per-rank key figures, so one slow rank stands out."""
    return [
        RankRow(
            r.rank,
            r.value(names.SAMPLES_PER_SECOND),
            r.value(names.DATA_WAIT_MS_P95),
            r.value(names.STEP_MS),
            r.value(names.PROC_RSS_BYTES),
            r.status,
        )
        for _, r in sorted(job.ranks.items())
    ]
