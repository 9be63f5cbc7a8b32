"""Sweep jobs that were never seen live, read back from their event logs.

``ocrtop train`` discovers the jobs of a sweep by polling the registry, so a job that
starts and ends between two polls (or before the dashboard started following) would be
missing from the sweep table. Every job logs its stream to ``<run dir>/events*.jsonl``
in the sweep directory, so the jobs next to a known sweep job are read from there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ocrtop.bridge.eventlog import EVENTS_FILE
from ocrtop.tui.core.feeds.logs import rank_files
from ocrtop.tui.core.state import AppState


def sweep_dirs(state: AppState) -> set[Path]:
    """Sweep directories of the known jobs that Hydra started as multirun jobs."""
    out = set()
    for job in state.jobs.values():
        meta = job.hello.get("meta") or {}
        run_dir = job.hello.get("run_dir")
        if "sweep_job" in meta and run_dir:
            out.add(Path(str(run_dir)).parent)
    return out


def unseen_runs(sweep_dir: Path, known: set[str]) -> list[Path]:
    """Job directories of ``sweep_dir`` with an event log whose run dir is not ``known``."""
    try:
        children = sorted(p for p in sweep_dir.iterdir() if p.is_dir())
    except OSError:
        return []
    return [d for d in children if str(d) not in known and (d / EVENTS_FILE).is_file()]


def scan(sweeps: set[Path], candidates: set[Path], known: set[str]) -> list[Path]:
    """Run dirs to read back: ``candidates`` and the unseen jobs of ``sweeps`` that have a log.

    Touches the file system (a directory listing per sweep, a stat per job), so the live
    feed runs it in a worker thread: on a slow or network disk, or a 50-job sweep, the
    dashboard's event loop must not wait for it every poll.
    """
    found = set(candidates)
    for sweep_dir in sweeps:
        found.update(unseen_runs(sweep_dir, known))
    return sorted(d for d in found if (d / EVENTS_FILE).is_file())


SKIM_BUDGET = 200
"""Per-step events kept per rank of a read-back job: the sweep table needs its status,
best validation score and throughput, not every step (those stay in the log)."""
SKIM_TAIL_BYTES = 16 << 10
"""The end of a read-back log read in full: the job's latest values (a few steps' worth)."""


def read_run(run_dir: Path) -> list[tuple[Any, str]]:
    """Every rank's recorded messages of one run, skimmed, each with a stream name of its own.

    A finished job of a day-long sweep may hold millions of events; ``skim_events`` keeps
    every status, alert, log and validation/test metric, a downsampled history of the
    per-step ones and the exact latest values, so the sweep table fills at once.
    """
    from ocrtop.bridge.eventlog import skim_events

    out: list[tuple[Any, str]] = []
    for path in rank_files(run_dir):
        stream = f"log:{path}"
        try:
            skim = skim_events(path, budget=SKIM_BUDGET, tail_bytes=SKIM_TAIL_BYTES)
            out += [(msg, stream) for msg in skim]
        except OSError:
            continue
    return out
