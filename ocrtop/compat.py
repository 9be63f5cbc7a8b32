"""Make ocrtop's callbacks belong to the Lightning namespace the user's Trainer comes from.

Lightning ships twice: ``pytorch_lightning`` and ``lightning.pytorch`` are the same code
under two names, with two unrelated ``Callback`` classes. Our callbacks are written once,
against ``pytorch_lightning``. A ``lightning.pytorch.Trainer`` calls hooks by name, but any
``isinstance(cb, Callback)`` check on its side (a single callback passed without a list,
LightningCLI, third-party code that filters ``trainer.callbacks``) would not recognise
them. :func:`adapt` derives, once per class, a subclass that also inherits the other
namespace's ``Callback``: it is an instance of both, keeps the original's ``__qualname__``
(so checkpointed ``state_key``s are the same in either form) and pickles by reference to
the original class (``ddp_spawn`` pickles the trainer's callbacks).

The entry-point form (``OCRTOP=1``) adds callbacks to every Trainer, including ones that
already carry ocrtop's monitors (our own runner, or a script that also calls
``ocrtop.callbacks()``). Such "auto" classes decide at ``setup`` whether the trainer
already has monitors of its own (any callback from ``ocrtop.ocr.callbacks`` that is not auto)
and then stay inert: every hook returns at once, so nothing is measured or published twice.
"""

from __future__ import annotations

import functools
import importlib
import sys
from collections.abc import Callable
from typing import Any

PL = "pytorch_lightning"
LIGHTNING = "lightning.pytorch"
NAMESPACES = (PL, LIGHTNING)

_CACHE: dict[tuple[type, tuple[str, ...], bool], type] = {}


def imported_namespaces() -> tuple[str, ...]:
    """The Lightning namespaces this process has imported (their Trainers may get our callbacks).

    ``pytorch_lightning`` always counts: our callbacks import it themselves.
    """
    return tuple(ns for ns in NAMESPACES if ns == PL or ns in sys.modules)


def callback_base(namespace: str) -> type:
    """``<namespace>.callbacks.Callback``."""
    if namespace not in NAMESPACES:
        raise ValueError(f"unknown Lightning namespace {namespace!r} (one of {NAMESPACES})")
    return importlib.import_module(f"{namespace}.callbacks").Callback


def is_own_monitor(callback: Any) -> bool:
    """A monitor from ``ocrtop.ocr.callbacks`` that the user (or our runner) added, not the entry
    point."""
    module = type(callback).__module__
    if getattr(callback, "_ocrtop_auto", False) or getattr(callback, "shared_by_monitors", False):
        return False  # an entry-point copy, or the step clock any monitor creates
    return module.startswith("ocrtop.ocr.callbacks")


def _stands_aside(callback: Any, callbacks: list[Any]) -> bool:
    """The trainer has monitors of its own, or an earlier auto copy of this one (ocrtop's
    factory registered twice, e.g. by a stale second installation)."""
    if any(is_own_monitor(cb) for cb in callbacks):
        return True
    mine = callbacks.index(callback) if callback in callbacks else len(callbacks)
    return any(type(cb) is type(callback) for cb in callbacks[:mine])


def adapt(cls: type, namespaces: tuple[str, ...] = (), auto: bool = False) -> type:
    """``cls``, or a subclass that is also a Callback of each of ``namespaces`` (and auto)."""
    extra = tuple(
        base for base in (callback_base(ns) for ns in namespaces) if not issubclass(cls, base)
    )
    if not extra and not auto:
        return cls
    key = (cls, tuple(sorted(namespaces)), auto)
    if key not in _CACHE:
        attrs: dict[str, Any] = {
            "__module__": cls.__module__,
            "__qualname__": cls.__qualname__,
            "__doc__": cls.__doc__,
            "__reduce_ex__": _reduce_ex,
            "_ocrtop_adapted": key,
        }
        if auto:
            attrs["_ocrtop_auto"] = True
            attrs["_ocrtop_inert"] = False
            attrs.update(_inert_guards(cls))
        _CACHE[key] = type(cls.__name__, (cls, *extra), attrs)
    return _CACHE[key]


def _rebuild(cls: type, namespaces: tuple[str, ...], auto: bool) -> Any:
    adapted: Any = adapt(cls, namespaces, auto)
    return adapted.__new__(adapted)


def _reduce_ex(self: Any, protocol: Any) -> tuple[Any, ...]:
    """Pickle as (the original class, namespaces, auto) + state: the derived class has no name."""
    cls, namespaces, auto = type(self)._ocrtop_adapted
    return _rebuild, (cls, namespaces, auto), dict(self.__dict__)


def _hook_names() -> list[str]:
    base = callback_base(PL)
    return [
        name
        for name, value in vars(base).items()
        if callable(value) and (name.startswith("on_") or name in ("setup", "teardown"))
    ]


def _hook_guard(original: Callable[..., Any]) -> Callable[..., Any]:
    def guard(self: Any, *args: Any, **kwargs: Any) -> Any:
        if self._ocrtop_inert:
            return None
        return original(self, *args, **kwargs)

    return guard


def _setup_guard(original: Callable[..., Any]) -> Callable[..., Any]:
    """``setup`` decides whether to stand aside, then runs like the other hooks."""

    def guard(self: Any, trainer: Any, *args: Any, **kwargs: Any) -> Any:
        self._ocrtop_inert = _stands_aside(self, list(getattr(trainer, "callbacks", None) or ()))
        if self._ocrtop_inert:
            return None
        return original(self, trainer, *args, **kwargs)

    return guard


def _inert_guards(cls: type) -> dict[str, Callable[..., Any]]:
    """Hook overrides that return at once when the instance stood aside at ``setup``."""
    base = callback_base(PL)
    guards: dict[str, Callable[..., Any]] = {}
    for name in _hook_names():
        original = getattr(cls, name)
        if name != "setup" and original is getattr(base, name):
            continue  # not overridden: Lightning's no-op stays

        guard = _setup_guard(original) if name == "setup" else _hook_guard(original)
        guards[name] = functools.wraps(original)(guard)
    return guards
