"""The runners' exit codes: what the trainer published is what the process exits with.

Hydra's ``@hydra.main`` discards the task's return value and turns any exception into
a printed traceback and exit 1, whatever went wrong. :func:`run_task` wraps the task:
bad config or input is one line per problem and exit 2 (no traceback), a failure keeps
its traceback (the run's log) and ends with one ``ocrtop: failed ...`` line, and a stop
exits with its code. :func:`exit_code_of` runs the Hydra entry point and maps Hydra's own
errors (an unknown override key, a missing config group) to exit 2 as well: they are bad
config found before any training. The table is :mod:`ocrtop.bridge.exitcodes`.

Stdlib only at import time: ``--help`` must not wait for torch.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from typing import Any

from ocrtop.bridge import exitcodes

_started = False
_failed: list[int] = []
"""Exit codes of the jobs of a multirun that failed (the sweep goes on, as in Hydra)."""


class JobFailed(RuntimeError):
    """A multirun job's failure, already printed, handed to Hydra so the sweep goes on."""


def _multirun() -> bool:
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        return HydraConfig.initialized() and HydraConfig.get().mode == RunMode.MULTIRUN
    except Exception:  # no Hydra context (a test calling run_task): a single run
        return False


def run_task(task: Callable[[], dict[str, Any]], cfg: Any = None) -> dict[str, Any]:
    """Check ``cfg`` (``ocrtop.ocr.config_check``), then run a Hydra task.

    In a multirun, a failed job is handed back to Hydra (:class:`JobFailed`) so the other
    jobs still run, and the process exits with the first failed job's code at the end; a
    stop (command or signal) ends the whole sweep with its code.

    Raises:
        SystemExit: with the run's exit code, unless it ended ``done``.
    """
    global _started
    _started = True
    from ocrtop.ocr.config_check import check_config
    from ocrtop.ocr.failures import ConfigError, final_status, root_cause

    try:
        if cfg is not None:
            check_config(cfg)  # right after composition: before torch, before any file
        summary = task()
    except Exception as exc:
        cause, _ = root_cause(exc)
        final = final_status(exc)
        if isinstance(cause, ConfigError):
            for line in [p.format() for p in cause.problems] or [str(cause)]:
                print(f"error: {line}", file=sys.stderr)
            print(f"ocrtop: bad config or input (exit code {final['exit_code']})", file=sys.stderr)
        else:
            traceback.print_exc()
            print(
                f"ocrtop: failed (exit code {final['exit_code']}): {final['error']}",
                file=sys.stderr,
            )
        sys.stderr.flush()
        if _multirun():  # Hydra records the failure and runs the other jobs, as before
            _failed.append(int(final["exit_code"]))
            raise JobFailed(final.get("error") or "bad config or input") from None
        raise SystemExit(final["exit_code"]) from None
    code = int(summary.get("exit_code") or exitcodes.DONE)
    if code != exitcodes.DONE:
        raise SystemExit(code)
    return summary


def exit_code_of(hydra_main: Callable[[], Any]) -> int:
    """Run ``hydra_main()`` and return the process's exit code (see the module docstring)."""
    try:
        hydra_main()
    except Exception:  # HYDRA_FULL_ERROR=1: Hydra re-raises its own errors, unprinted
        traceback.print_exc()
        return exitcodes.FAILED if _started else exitcodes.BAD_INPUT
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        if code == exitcodes.FAILED and not _started:
            return exitcodes.BAD_INPUT  # Hydra rejected the config before the task ran
        if code == exitcodes.FAILED and _failed:
            return _failed[0]  # a sweep with failed jobs: the first one's code
        return code
    return exitcodes.DONE
