"""Sweep jobs that were never seen live, read back from their event logs.

``ocrtop train`` discovers the jobs of a sweep by polling the registry, so a job that
starts and ends between two polls (or before the dashboard started following) would be
missing from the sweep table. Every job logs its stream to ``<run dir>/events*.jsonl``
in the sweep directory, so the jobs next to a known sweep job are read from there.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bridge.eventlog import EVENTS_FILE
from tui.state import AppState


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


def read_run(run_dir: Path) -> list[tuple[Any, str]]:
    """Every rank's recorded messages of one run, each with a stream name of its own."""
    from bridge.eventlog import read_events
    from tui.replay import rank_files  # tui.replay imports tui.source: import when used

    out: list[tuple[Any, str]] = []
    for path in rank_files(run_dir):
        stream = f"log:{path}"
        try:
            out += [(msg, stream) for msg in read_events(path)]
        except OSError:
            continue
    return out
