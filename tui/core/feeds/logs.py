"""Finding a run's event logs and saying what is wrong with them.

Shared by the replay feed (what to play), the backfill (what to read back) and the
attach check (why a run directory cannot be attached to), so none of them imports
another for it.
"""

from __future__ import annotations

from pathlib import Path

from ocrtop.bridge.eventlog import EVENTS_FILE, LogProblem, check_log


def rank_files(run_dir: Path) -> list[Path]:
    """``events.jsonl`` and ``events.rank<N>.jsonl`` of a run dir (or the file itself)."""
    if run_dir.is_file():
        return [run_dir]
    return sorted(run_dir.glob("events*.jsonl"), key=lambda p: (p.name != EVENTS_FILE, p.name))


def plan_replay(path: Path) -> tuple[list[Path], list[LogProblem]]:
    """The event logs of a run dir (or one events file) worth replaying, and what is wrong.

    A missing, empty or foreign log is left out; a truncated one is replayed up to its
    last complete line. No file left means nothing can be replayed (bad input).
    """
    if not path.exists():
        return [], [LogProblem("missing", path, "no such file or directory")]
    files = rank_files(path)
    if not files:
        return [], [LogProblem("missing", path, f"no {EVENTS_FILE} here (not a run directory?)")]
    problems = {f: p for f in files if (p := check_log(f)) is not None}
    usable = [f for f in files if f not in problems or not problems[f].fatal]
    return usable, list(problems.values())


def explain(problem: LogProblem, others_left: bool = True) -> str:
    """One line on what the replay does about ``problem``."""
    if not problem.fatal:
        return f"{problem}; replaying the {problem.complete_lines} complete lines before it"
    return f"{problem}; skipping it" if others_left else str(problem)
