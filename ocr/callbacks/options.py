"""The option names every monitor shares, and the old spellings still accepted.

One concept, one name, in the YAML configs, the constructors and ``ocrtop.callbacks()``:

- ``every_n_steps``: how often a callback does its periodic work in training batches (log
  to the Lightning loggers, publish logged metrics, gather across ranks); None follows the
  trainer's own ``log_every_n_steps``, which stays Lightning's.
- ``publish_max_hz``: the most bridge messages per second a callback sends.
- ``data_bound_share``: the data wait share of step time above which a window is
  data-bound (default :data:`ocrtop.bridge.names.DATA_BOUND_SHARE`).

The names they replace still work for a while, with one ``DeprecationWarning`` each.
"""

from __future__ import annotations

import functools
import inspect
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

RENAMED = {
    "log_every_n_steps": "every_n_steps",
    "metrics_every_n_steps": "every_n_steps",
    "progress_max_hz": "publish_max_hz",
    "data_bound_threshold": "data_bound_share",
}
"""Old option name -> today's (ThroughputMonitor/ResourceMonitor ``log_every_n_steps``,
Bridge ``metrics_every_n_steps`` and ``progress_max_hz``, ThroughputMonitor
``data_bound_threshold``)."""

_warned: set[tuple[str, str]] = set()

F = TypeVar("F", bound=Callable[..., None])


def accepts_renamed(init: F) -> F:
    """Let ``__init__`` take the old names of its options (one DeprecationWarning each).

    ``inspect.signature`` of the wrapped class still shows only today's names, which is
    what ``ocrtop.callbacks()`` checks options against (it also admits :data:`RENAMED`).
    """
    params = inspect.signature(init).parameters

    @functools.wraps(init)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> None:
        for old in [k for k in kwargs if k in RENAMED and k not in params]:
            new = RENAMED[old]
            if new not in params:
                continue  # not an option of this callback: the call raises TypeError
            if new in kwargs:
                raise TypeError(f"{type(self).__name__}: give {new!r}, not also {old!r}")
            owner = type(self).__name__
            if (owner, old) not in _warned:
                _warned.add((owner, old))
                warnings.warn(
                    f"{owner}: option {old!r} is now {new!r}", DeprecationWarning, stacklevel=2
                )
            kwargs[new] = kwargs.pop(old)
        init(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def check_every_n_steps(every_n_steps: int | None) -> int | None:
    """``every_n_steps`` is None or a positive number of batches."""
    if every_n_steps is not None and every_n_steps < 1:
        raise ValueError(f"every_n_steps must be >= 1 or null, got {every_n_steps}")
    return every_n_steps


def check_publish_max_hz(publish_max_hz: float | None) -> float:
    """Seconds between publishes for a ``publish_max_hz`` (None or 0 s: every time)."""
    if publish_max_hz is not None and publish_max_hz <= 0:
        raise ValueError(f"publish_max_hz must be > 0 or null, got {publish_max_hz}")
    return 1.0 / publish_max_hz if publish_max_hz else 0.0


def check_share(name: str, share: float) -> float:
    """A share of step time, strictly between 0 and 1."""
    if not 0.0 < share < 1.0:
        raise ValueError(f"{name} is a share in (0, 1), got {share}")
    return share


def step_cadence(trainer: Any, every_n_steps: int | None) -> int:
    """The callback's ``every_n_steps``, else the trainer's ``log_every_n_steps``."""
    if every_n_steps is not None:
        return every_n_steps
    return max(1, int(getattr(trainer, "log_every_n_steps", 50) or 1))
