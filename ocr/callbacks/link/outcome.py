"""How a run ended, in one place: the final event, ``run_summary.json`` and the exit code.

The bridge callback (final event) and the runner (summary, exit code, the last line of
the log) both call :func:`final_status`, so a viewer, a script reading the summary and a
scheduler reading the exit code are told the same thing. Stdlib only, and part of the
monitor (any Lightning script's stop or failure ends its job this way); ``ocrtop.ocr.failures``
re-exports it for the OCR code.

The exceptions here are the controlled ways a run ends early:

- :class:`ConfigError`: bad config or input, found before training (exit 2), like a
  config node whose keys its ``_target_`` does not take (:func:`is_config_mismatch`);
- :class:`StopRequested`: a stop (command or signal) honoured at a step boundary, after
  a checkpoint (exit 3, or ``128 + N`` for signal N);
- :class:`StopEscalated`: a second Ctrl-C/SIGTERM or the stop timeout; no checkpoint.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import traceback
from dataclasses import dataclass
from typing import Any

from ocrtop.bridge import exitcodes


@dataclass(frozen=True)
class ConfigProblem:
    """One bad value: the dotted config key, the value found, and what was expected."""

    key: str
    value: Any
    expected: str

    def format(self) -> str:
        """``trainer.max_epochs: 'abc' is not an integer`` (the line the user reads)."""
        return f"{self.key}: {self.value!r} {self.expected}"


class ConfigError(ValueError):
    """Bad config or input found before training: the runner prints it and exits 2.

    Raise it with one problem (``ConfigError("data.root", "/x", "does not exist")``) or
    with several (``ConfigError.of([...])``); every problem is one line of ``str()``.
    A ``ValueError`` subclass, so callers that catch bad values keep working.
    """

    def __init__(self, key: str = "", value: Any = None, expected: str = "") -> None:
        self.problems: list[ConfigProblem] = [ConfigProblem(key, value, expected)] if key else []
        super().__init__(self._text())

    @classmethod
    def of(cls, problems: list[ConfigProblem]) -> ConfigError:
        """One error carrying every problem found (all are reported, not just the first)."""
        err = cls()
        err.problems = list(problems)
        err.args = (err._text(),)
        return err

    @property
    def key(self) -> str | None:
        """The first problem's key: what the final event names as ``where``."""
        return self.problems[0].key if self.problems else None

    def _text(self) -> str:
        return "\n".join(p.format() for p in self.problems)


class StopRequested(Exception):
    """Raised at a step boundary to end the run after a stop request (not a failure).

    Lightning re-raises it after the callbacks' ``on_exception``; the checkpoint path is
    filled in there by the callback that saved it.
    """

    def __init__(self, reason: str, exit_code: int) -> None:
        super().__init__(reason)
        self.reason, self.exit_code = reason, exit_code
        self.checkpoint: str | None = None


class StopEscalated(KeyboardInterrupt):
    """A second Ctrl-C/SIGTERM, or a stop that did not finish in time: stop now, no checkpoint.

    A ``KeyboardInterrupt`` so that it interrupts anything (a hung step, a data fetch)
    and Lightning's interrupt handling tears the trainer down.
    """

    def __init__(self, reason: str, exit_code: int) -> None:
        super().__init__(reason)
        self.reason, self.exit_code = reason, exit_code


_FULL_KEY = re.compile(r"full_key: (\S+)")


def root_cause(exc: BaseException) -> tuple[BaseException, str | None]:
    """Unwrap Hydra's ``InstantiationException`` to the error raised by the target.

    Returns:
        The underlying exception and the config key Hydra was instantiating (or None).
    """
    key = None
    while type(exc).__name__ == "InstantiationException" and exc.__cause__ is not None:
        found = _FULL_KEY.search(str(exc))
        key = key or (found.group(1) if found else None)
        exc = exc.__cause__
    return exc, key


_HYDRA_INSTANTIATE = "hydra._internal.instantiate._instantiate2"


def is_config_mismatch(cause: BaseException, key: str | None) -> bool:
    """A ``TypeError`` from calling a config node's ``_target_`` with the node's keys.

    Hydra wraps it, and an error raised inside the target, in the same
    ``InstantiationException``; only the first is the config's fault (an unknown key, a
    missing required one: bad config, exit 2). Python raises such a binding error at the
    call, before the target's frame exists, so the innermost frame of its traceback is
    Hydra's caller; an error inside the target ends in the target's own code (exit 1).
    """
    if key is None or not isinstance(cause, TypeError) or cause.__traceback__ is None:
        return False
    hydra = sys.modules.get(_HYDRA_INSTANTIATE)
    origin = getattr(hydra, "__file__", None)
    if origin is None:
        return False
    innermost = traceback.extract_tb(cause.__traceback__)[-1].filename
    return os.path.realpath(innermost) == os.path.realpath(origin)


def _first_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[0] if lines else ""


def describe(exc: BaseException) -> dict[str, Any]:
    """The reason of a failure: type, message, and the file or key it names.

    ``where`` is, in order: the config key (a :class:`ConfigError`, or the node Hydra was
    instantiating), the file of an ``OSError``, else the innermost traceback frame.
    ``error`` is the one-line form every view shows: ``Type: message (where)``.
    """
    cause, key = root_cause(exc)
    message = str(cause)
    where = None
    if isinstance(cause, ConfigError):
        where = cause.key
    elif isinstance(cause, OSError) and (cause.filename2 or cause.filename):
        where = str(cause.filename2 or cause.filename)  # a copy's target is the file at fault
    where = where or key
    if where is None and cause.__traceback__ is not None:
        frame = traceback.extract_tb(cause.__traceback__)[-1]
        where = f"{frame.filename}:{frame.lineno}"
    error = f"{type(cause).__name__}: {message}" if message else type(cause).__name__
    if where and where not in message:
        error += f" ({where})"
    return {"error": error, "error_type": type(cause).__name__, "message": message, "where": where}


def final_status(exc: BaseException | None) -> dict[str, Any]:
    """``{"status": ..., "exit_code": ..., ...}`` for a run that ended with ``exc`` (None: done).

    A stop is ``stopped`` (with the reason and the checkpoint, None when escalated); a
    Lightning ``SIGTERMException`` is a stop by SIGTERM; anything else is ``failed`` with
    :func:`describe`'s fields, exit 2 for bad config or input, else 1.
    """
    if exc is None:
        return {"status": "done", "exit_code": exitcodes.DONE}
    if isinstance(exc, StopRequested | StopEscalated):
        out: dict[str, Any] = {"status": "stopped", "exit_code": exc.exit_code}
        out["reason"] = exc.reason
        out["checkpoint"] = getattr(exc, "checkpoint", None)
        return out
    if type(exc).__name__ == "SIGTERMException":  # Lightning's own SIGTERM path
        code = exitcodes.from_signal(signal.SIGTERM)
        return {
            "status": "stopped",
            "exit_code": code,
            "reason": "SIGTERM",
            "checkpoint": getattr(exc, "checkpoint", None),
        }
    if isinstance(exc, KeyboardInterrupt):
        code = exitcodes.from_signal(signal.SIGINT)
        return {"status": "stopped", "exit_code": code, "reason": "KeyboardInterrupt"}
    cause, key = root_cause(exc)
    bad_input = isinstance(cause, ConfigError) or is_config_mismatch(cause, key)
    code = exitcodes.BAD_INPUT if bad_input else exitcodes.FAILED
    return {"status": "failed", "exit_code": code, **describe(exc)}


def summary_line(final: dict[str, Any]) -> str:
    """The last line the runner prints: ``ocrtop: failed: ...`` / ``ocrtop: stopped (...)``.

    The supervisor of ``ocrtop train`` reads it from the log when the trainer died before
    it could publish anything, so keep the ``ocrtop: <status>`` prefix.
    """
    status, code = final.get("status"), final.get("exit_code")
    if status == "failed":
        return f"ocrtop: failed (exit code {code}): {final.get('error')}"
    if status == "stopped":
        ckpt = final.get("checkpoint")
        tail = f"; resume with ckpt_path={ckpt}" if ckpt else "; no checkpoint was saved"
        return f"ocrtop: stopped by {final.get('reason')} (exit code {code}){tail}"
    return f"ocrtop: {status} (exit code {code})"
