"""How a job ended, in words and as an exit code: the same for the dialog and headless mode.

The final ``status`` event carries the status, the exit code and the reason (the
exception's type, message and the file or key it names, or the stop's reason and
checkpoint; see ``ocr/failures.py``). A trainer killed by a signal publishes nothing,
so the supervisor's exit code fills in (``killed by SIGKILL``). Stdlib only.
"""

from __future__ import annotations

from typing import Any

from ocrtop.bridge import exitcodes
from ocrtop.tui.core.state import AppState, JobState

LOG_REASON_PREFIXES = ("error: ", "ocrtop: ")
"""Lines the runner prints last (``runners/_exit.py``): the reason, when nothing was published."""


def headline(job: JobState) -> str:
    """``failed (exit code 1)``, ``stopped by SIGTERM (exit code 143)``, ``killed by SIGKILL``..."""
    code = job.final_exit_code
    payload = job.primary.status_payload
    status = job.status
    signal_name = exitcodes.signal_name(code) if code is not None else None
    if status == "stopped":
        reason = payload.get("reason")
        by = f" by {reason}" if reason else ""
        return f"stopped{by} (exit code {code if code is not None else 'unknown'})"
    if status not in ("done", "failed") and signal_name is not None:
        return exitcodes.describe(code)  # died without a final event: the signal says how
    if code is None:
        return f"{status} (exit code unknown)"
    if status == "done" and code != exitcodes.DONE:
        return exitcodes.describe(code)  # the process failed after the job reported done
    if status == "failed" and code == exitcodes.BAD_INPUT:
        return f"failed: {exitcodes.describe(code)}"  # nothing trained: say why, not just 2
    return f"{status} (exit code {code})"


def reason_lines(job: JobState) -> list[str]:
    """The reason, one item per line: the error and where, or the stop's checkpoint."""
    payload: dict[str, Any] = job.primary.status_payload
    lines: list[str] = []
    if payload.get("error"):
        lines.extend(str(payload["error"]).splitlines())
    if payload.get("where") and str(payload["where"]) not in str(payload.get("error", "")):
        lines.append(f"at {payload['where']}")
    if job.status == "stopped":
        ckpt = payload.get("checkpoint")
        lines.append(
            f"checkpoint {ckpt} (resume: ckpt_path={ckpt})" if ckpt else "no checkpoint saved"
        )
    return lines


def reason_from_log(tail: list[str]) -> list[str]:
    """The runner's closing lines (``error: ...``, ``ocrtop: failed ...``) from a log tail."""
    return [line for line in tail if line.startswith(LOG_REASON_PREFIXES)]


def exit_code(state: AppState, unfinished: int = exitcodes.DONE) -> int:
    """The exit code of ``attach``/``replay``: the jobs' own, the first that is not 0.

    A job that has not finished counts as ``unfinished``: 0 for ``attach`` (leaving a
    running job is not a failure), 1 for ``replay`` (the recording ends without a final
    status). A job that ended without saying how is 1.
    """
    codes = []
    for job in state.jobs.values():
        if not job.finished:
            codes.append(unfinished)
            continue
        code = job.final_exit_code
        if code is None:
            code = exitcodes.DONE if job.status == "done" else exitcodes.FAILED
        codes.append(exitcodes.from_returncode(int(code)))
    return next((c for c in codes if c != exitcodes.DONE), exitcodes.DONE)
