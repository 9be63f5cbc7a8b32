"""The exit codes of every ocrtop process: the trainer, ``ocrtop train``, ``attach``, ``replay``.

One table, defined once and stdlib-only, so that the trainer (``ocr/``), the TUI (``tui/``)
and the bridge agree without importing each other. A scheduler or CI job reads the
code; a person reads :func:`describe`. The README's exit-code table is :data:`TABLE`.

``subprocess`` reports a child killed by signal N as ``-N``; a shell reports it as
``128 + N``. :func:`from_returncode` turns the first into the second, so ``ocrtop train``
passes on what a shell would have shown for the trainer itself.
"""

from __future__ import annotations

import signal

DONE = 0
"""The run finished (fit, and test when configured)."""
FAILED = 1
"""The run failed with an exception (its type and message are in the final event)."""
BAD_INPUT = 2
"""Bad config or input, found before training started (one line per problem)."""
STOPPED = 3
"""Stopped on request (the dashboard's ``stop`` command) after a checkpoint."""
SIGNAL_BASE = 128
"""``128 + N``: ended by signal N (SIGINT 130, SIGTERM 143, SIGKILL 137)."""

TABLE: tuple[tuple[str, str], ...] = (
    ("0", "done: training (and the test after it) finished"),
    ("1", "failed with an exception; the final event and run_summary.json name it"),
    ("2", "bad config or input, found before training started (nothing was trained)"),
    ("3", "stopped on request (dashboard `stop`), after saving a checkpoint"),
    ("128+N", "ended by signal N: 130 SIGINT (Ctrl-C), 143 SIGTERM, 137 SIGKILL"),
)
"""``(code, meaning)`` rows; the README's table and ``--help`` epilogs print these."""


def from_signal(signum: int) -> int:
    """The exit code of a process ended by signal ``signum`` (``128 + N``)."""
    return SIGNAL_BASE + int(signum)


def from_returncode(returncode: int) -> int:
    """A ``subprocess`` return code as a shell shows it: ``-N`` (killed by N) -> ``128 + N``."""
    return from_signal(-returncode) if returncode < 0 else returncode


def signal_name(code: int) -> str | None:
    """``"SIGKILL"`` for 137 (or -9); None when ``code`` is not a signal's exit code."""
    signum = -code if code < 0 else code - SIGNAL_BASE if code > SIGNAL_BASE else 0
    if signum <= 0:
        return None
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def describe(code: int | None) -> str:
    """What an exit code means, in words: ``"killed by SIGKILL (exit code 137)"``."""
    if code is None:
        return "exit code unknown"
    if code < 0:
        code = from_returncode(code)
    name = signal_name(code)
    if name is not None:
        verb = "interrupted by" if name == "SIGINT" else "killed by"
        return f"{verb} {name} (exit code {code})"
    words = {
        DONE: "done",
        FAILED: "failed",
        BAD_INPUT: "bad config or input",
        STOPPED: "stopped on request",
    }
    return f"{words.get(code, 'exited')} (exit code {code})"


def table_text() -> str:
    """The table as plain text lines, for ``--help`` epilogs."""
    return "exit codes:\n" + "\n".join(f"  {code:<6} {meaning}" for code, meaning in TABLE)
