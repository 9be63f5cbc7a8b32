"""Dispatch bridge commands to the callbacks that implement them.

Commands arrive on the bridge's socket thread but are applied here, on the training
thread, at a batch boundary: that is the only place where arming a profiler or asking
the trainer to stop is safe. Every command gets exactly one ack.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from typing import Any

from ocrtop.bridge import exitcodes
from ocrtop.ocr.callbacks.link.emit import Trainer

CommandHandler = Callable[[Trainer, Any], "dict[str, Any] | None"]
"""``handler(trainer, command) -> result``; raise :class:`CommandError` to refuse."""

log = logging.getLogger(__name__)


class CommandError(RuntimeError):
    """A command was understood but cannot be applied now; the message goes in the ack."""


class CommandRouter:
    """Maps command names to handlers and acks each command once."""

    def __init__(self) -> None:
        self._handlers: dict[str, CommandHandler] = {}

    def register(self, name: str, handler: CommandHandler) -> None:
        """Route ``name`` to ``handler``; a later registration replaces an earlier one."""
        self._handlers[name] = handler

    def names(self) -> list[str]:
        """Commands that have a handler."""
        return sorted(self._handlers)

    def dispatch(self, trainer: Trainer, publisher: Any, cmd: Any) -> None:
        """Run the handler for ``cmd`` and reply ok or with the reason it failed."""
        handler = self._handlers.get(cmd.command)
        if handler is None:
            _reply(
                publisher,
                cmd,
                ok=False,
                error=f"unknown command {cmd.command!r}; this trainer accepts "
                f"{', '.join(self.names()) or 'none'} (enable the matching callback)",
            )
            return
        try:
            result = handler(trainer, cmd)
        except CommandError as exc:
            _reply(publisher, cmd, ok=False, error=str(exc))
            return
        except Exception as exc:  # a buggy handler must not kill training
            log.exception("command %r failed", cmd.command)
            _reply(publisher, cmd, ok=False, error=f"{type(exc).__name__}: {exc}")
            return
        _reply(publisher, cmd, ok=True, result=result or {})


def stop_handler(trainer: Trainer, cmd: Any) -> dict[str, Any]:
    """Stop after the current batch, with a checkpoint, in any epoch.

    A callback with ``request_stop(reason)`` (ocrtop's ``GracefulStop``) does the stop:
    Lightning's ``should_stop`` alone is refused until ``min_epochs`` is reached. Without
    one (a plain Lightning job watched by ocrtop) ``should_stop`` is the fallback.
    """
    args = getattr(cmd, "args", None) or {}
    mode = args.get("mode", "graceful")
    if mode != "graceful":
        raise CommandError(f"stop mode {mode!r} is not supported; use mode='graceful'")
    for callback in getattr(trainer, "callbacks", None) or ():
        request = getattr(callback, "request_stop", None)
        if callable(request):
            # a viewer relaying its user's Ctrl-C says so: the run then ends as SIGINT would
            if args.get("signal") == "SIGINT":
                request("SIGINT (relayed by ocrtop)", exitcodes.from_signal(signal.SIGINT))
            else:
                request("stop command")
            return {"mode": mode, "step": int(trainer.global_step), "at": "next step"}
    trainer.should_stop = True
    return {"mode": mode, "step": int(trainer.global_step)}


def _reply(publisher: Any, cmd: Any, **kwargs: Any) -> None:
    try:
        publisher.reply(cmd, **kwargs)
    except Exception as exc:
        log.warning("could not ack command %r: %s", getattr(cmd, "command", cmd), exc)
