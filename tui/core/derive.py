"""Figures the dashboard shows that no single message carries: ETA, verdict, efficiency.

They are computed from the state on demand (a few times per second at most), so their
cost does not depend on the event rate.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ocrtop.bridge import names
from ocrtop.tui.core.records import AlertRecord
from ocrtop.tui.core.state import JobState, RankState

STRAGGLER = names.ALERT_STRAGGLER
"""Alert code of a DDP rank the others wait for (``ocrtop.ocr.callbacks.rank_stats``)."""


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


def reported_efficiency(rank: RankState) -> float | None:
    """The trainer's window efficiency (compute share of step time), as a fraction."""
    reported = rank.value(names.THROUGHPUT_EFFICIENCY)
    if reported is None:
        return None
    return reported / 100.0 if reported > 1.0 else reported


def efficiency(rank: RankState) -> float | None:
    """Fraction of step time spent computing (1.0 = never waiting for data)."""
    reported = reported_efficiency(rank)
    if reported is not None:
        return reported
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
    """Who sets the pace, as the trainer judged it: the data loader or the model.

    The label is the trainer's own ``perf/data_bound`` flag; the reason quotes the
    statistic it judged (the window's data wait share, 1 - ``perf/throughput_efficiency``)
    and its threshold (``perf/data_bound_threshold``). Nothing is recomputed here with a
    threshold of our own, so the dashboard cannot disagree with the trainer's alert
    inputs. None until the trainer has judged a window.
    """
    flag = rank.value(names.DATA_BOUND)
    if flag is None:
        return None
    label = "data-bound" if flag >= 0.5 else "compute-bound"
    eff = reported_efficiency(rank)
    if eff is None:
        return Verdict(label, "reported by trainer")
    reason = f"data wait {1.0 - eff:.0%} of step time"
    threshold = rank.value(names.DATA_BOUND_THRESHOLD)
    if threshold is not None:
        reason += f" ({'>' if flag >= 0.5 else '≤'} {threshold:.0%} threshold)"
    return Verdict(label, reason)


def host_memory(rank: RankState) -> tuple[str, float | None]:
    """``("pss", bytes)`` of the training process tree, or ``("rss", ...)`` without PSS.

    Summed PSS counts pages the DataLoader workers share with the trainer once; summed
    RSS (non-Linux trainers, runs recorded before PSS) counts them once per process, so
    the label says which one is shown.
    """
    pss = rank.value(names.PROC_PSS_BYTES)
    if pss is not None:
        return "pss", pss
    return "rss", rank.value(names.PROC_RSS_BYTES)


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
    """One row of the merged DDP view.

    ``own_step_ms`` and ``lateness_ms`` come from rank 0's cross-rank figures (``ddp/*``):
    in lockstep every rank's step time looks alike, these show who the others wait for.
    """

    rank: int
    samples_per_s: float | None
    data_wait_p95: float | None
    step_ms: float | None
    memory: float | None
    status: str
    own_step_ms: float | None = None
    lateness_ms: float | None = None
    straggler: bool = False


def _ddp_ranks(primary: RankState) -> set[int]:
    """Ranks that rank 0's cross-rank figures mention (``ddp/rank<r>/...``)."""
    found = set()
    for name in primary.latest:
        if name.startswith("ddp/rank"):
            head = name[len("ddp/rank") :].split("/", 1)[0]
            if head.isdigit():
                found.add(int(head))
    return found


def stragglers(job: JobState) -> dict[int, AlertRecord]:
    """Active ``straggler`` alerts by the rank they name (the rank that raised them)."""
    out: dict[int, AlertRecord] = {}
    for r in job.ranks.values():
        alert = r.alerts_active.get(STRAGGLER)
        if alert is not None:
            named = alert.values.get("rank")
            out[int(named) if isinstance(named, int | float) else r.rank] = alert
    return out


def memory(primary: RankState, own: RankState | None, rank: int) -> float | None:
    """A rank's memory: GPU memory held when it trains on a GPU, else host memory (PSS).

    Rank 0's ``ddp/rank<r>/*`` figures come first: they count each rank's own processes,
    while a process-tree sum of rank 0 also holds the ranks Lightning started under it.
    """
    gpu = primary.value(names.ddp_rank(rank, "gpu_mem_bytes"))
    if gpu:
        return gpu
    host = primary.value(names.ddp_rank(rank, "pss_bytes"))
    if host is None:  # runs recorded before PSS
        host = primary.value(f"ddp/rank{rank}/rss_bytes")
    if host is None and own is not None:
        host = host_memory(own)[1]
    return host


def rank_rows(job: JobState) -> list[RankRow]:
    """Per-rank key figures, so one slow rank stands out.

    A rank's own stream is preferred; a rank whose stream is not connected (another node)
    still gets a row from rank 0's ``ddp/rank<r>/*`` figures.
    """
    primary = job.primary
    flagged = stragglers(job)
    rows = []
    for rank in sorted(set(job.ranks) | _ddp_ranks(primary)):
        own = job.ranks.get(rank)

        def pick(stream_name: str, field: str, own: RankState | None = own, r: int = rank) -> Any:
            value = own.value(stream_name) if own is not None else None
            return value if value is not None else primary.value(names.ddp_rank(r, field))

        rows.append(
            RankRow(
                rank,
                pick(names.SAMPLES_PER_SECOND, "samples_per_second"),
                pick(names.DATA_WAIT_MS_P95, "data_wait_ms_p95"),
                # the same window as own_step_ms, so the two compare; live value otherwise
                primary.value(names.ddp_rank(rank, "step_ms")) or pick(names.STEP_MS, "step_ms"),
                memory(primary, own, rank),
                own.status if own is not None else "remote",
                primary.value(names.ddp_rank(rank, "own_step_ms")),
                primary.value(names.ddp_rank(rank, "lateness_ms")),
                rank in flagged,
            )
        )
    return rows


def slowest(rows: list[RankRow]) -> int | None:
    """The rank the others wait for: a straggler, else the longest own (or plain) step."""
    if len(rows) < 2:
        return None
    for row in rows:
        if row.straggler:
            return row.rank
    return max(rows, key=lambda r: r.own_step_ms or r.step_ms or 0.0).rank


@dataclass(frozen=True)
class SweepRow:
    """One job of a Hydra multirun, as the sweep table shows it."""

    key: str
    index: int
    overrides: str
    status: str
    best_hmean: float | None
    samples_per_s: float | None
    duration_s: float | None


def best_hmean(rank: RankState) -> float | None:
    """Best validation hmean over the epochs seen so far."""
    per_epoch = rank.per_epoch.get(names.VAL_HMEAN)
    return max(per_epoch.values()) if per_epoch else None


def sweep_rows(jobs: dict[str, JobState], now: float) -> list[SweepRow]:
    """Every job of the sweep, by Hydra job number (order of appearance without one).

    The job number and overrides come from the hello's meta (``sweep_job``, ``overrides``,
    set by the trainer's bridge callback under Hydra). Overrides every job shares (the
    fixed part of the command line) are left out once there are several jobs, so the
    column shows what the sweep varies.
    """
    metas = [job.hello.get("meta") or {} for job in jobs.values()]
    lists = [m.get("overrides") if isinstance(m.get("overrides"), list) else None for m in metas]
    known = [set(map(str, o)) for o in lists if o is not None]
    common = set.intersection(*known) if len(known) > 1 else set()
    rows = []
    for seen, (job, meta, overrides) in enumerate(zip(jobs.values(), metas, lists, strict=True)):
        r = job.primary
        index = meta.get("sweep_job")
        varied = [str(o) for o in overrides if str(o) not in common] if overrides else None
        samples = r.value(names.EPOCH_SAMPLES_PER_SECOND) or r.value(names.SAMPLES_PER_SECOND)
        rows.append(
            SweepRow(
                job.key,
                int(index) if isinstance(index, int) else seen,
                " ".join(varied) if varied else "—",
                job.status,
                best_hmean(r),
                samples,
                elapsed_seconds(r, now),
            )
        )
    return sorted(rows, key=lambda row: row.index)


# --- training: the user's own loss and metrics, the detector's when present ---

LOSS_COMPONENTS = (
    names.TRAIN_LOSS_PROB,
    names.TRAIN_LOSS_THRESH,
    names.TRAIN_LOSS_BINARY,
    names.TRAIN_LOSS_REGION,
    names.TRAIN_LOSS_AFFINITY,
)
"""The detector's loss parts (DB: prob/thresh/binary; CRAFT: region/affinity)."""

TRAIN_PREFIXES = ("train/", "train_")
VAL_PREFIXES = ("val/", "val_", "valid/", "valid_", "validation/", "validation_")


def _is_loss(name: str) -> bool:
    return "loss" in name.rsplit("/", 1)[-1]


def lower_is_better(name: str) -> bool:
    """Losses and errors fall as a model learns; accuracy, hmean, F1 ... rise."""
    leaf = name.rsplit("/", 1)[-1].lower()
    return any(word in leaf for word in ("loss", "err", "mse", "mae", "perplexity", "cer", "wer"))


def loss_name(rank: RankState) -> str | None:
    """The training loss to show: ``train/loss`` (the trainer publishes the step's returned
    loss under it when the job logs none), else the first loss-like name the job logs."""
    if names.TRAIN_LOSS in rank.latest:
        return names.TRAIN_LOSS
    candidates = [
        n
        for n in rank.latest
        if _is_loss(n)
        and (n.startswith(TRAIN_PREFIXES) or n == "loss")
        and n not in LOSS_COMPONENTS
    ]
    return min(candidates, key=len) if candidates else None


def train_metrics(rank: RankState, limit: int = 4) -> list[tuple[str, float]]:
    """Other training scalars the job logs (accuracy, ...), not the loss or its parts."""
    shown = {loss_name(rank), *LOSS_COMPONENTS}
    out = []
    for name in sorted(rank.latest):
        if name in shown or not name.startswith(TRAIN_PREFIXES) or name == names.LR:
            continue
        value = rank.value(name)
        if value is not None and not (_is_loss(name) and name.endswith(("_step", "_epoch"))):
            out.append((name, value))
    return out[:limit]


def val_metric(rank: RankState) -> str | None:
    """The validation figure to follow per epoch: ``val/hmean`` for a detector, else the
    job's first non-loss validation metric (accuracy, F1, ...), else its validation loss."""
    if names.VAL_HMEAN in rank.per_epoch or names.VAL_HMEAN in rank.latest:
        return names.VAL_HMEAN
    logged = [n for n in (*rank.per_epoch, *rank.latest) if n.startswith(VAL_PREFIXES)]
    if not logged:
        return None
    scores = [n for n in logged if not lower_is_better(n)]
    return (scores or logged)[0]


def val_history(rank: RankState, name: str) -> dict[int, float]:
    """``{epoch: value}`` of a validation metric (the latest value alone when no epoch came)."""
    table = rank.per_epoch.get(name)
    if table:
        return dict(table)
    value, _, _ = rank.latest.get(name, (None, None, None))
    return {} if value is None else {-1: value}


def best_epoch(name: str, per_epoch: dict[int, float]) -> int | None:
    """The epoch with the best value (lowest for a loss or error, highest otherwise)."""
    if not per_epoch:
        return None
    pick = min if lower_is_better(name) else max
    return pick(per_epoch, key=lambda e: per_epoch[e])
