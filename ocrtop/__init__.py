"""ocrtop: a live monitor for any Lightning training job, and a text-detector trainer.

``import ocrtop`` is cheap (no torch, no Lightning): they load inside :func:`callbacks`.

    import ocrtop
    trainer = pl.Trainer(callbacks=[*ocrtop.callbacks(), ...])

or, without touching the script: ``OCRTOP=1 python my_train.py`` (see ``ocrtop.autoload``).
"""

from __future__ import annotations

from typing import Any

__all__ = ["callbacks"]

Options = dict[str, Any] | bool | None


def callbacks(
    *,
    enabled: bool = True,
    run_dir: str | None = None,
    lightning: str = "auto",
    throughput_monitor: Options = None,
    resource_monitor: Options = None,
    profiler: Options = None,
    alerts: Options = None,
    rank_stats: Options = None,
    bridge: Options = None,
) -> list[Any]:
    """ocrtop's monitoring callbacks, configured like ``configs/callbacks/<name>.yaml``.

    Each callback takes a dict with the YAML file's option names (``enabled`` included),
    ``True`` for its defaults, or ``False`` to leave it out; unknown names raise TypeError.

    Args:
        enabled: False returns no callbacks (a switch for the whole monitor).
        run_dir: Where ``events.jsonl``, resource CSVs and profiler traces go, for every
            callback that writes files; None uses the trainer's ``default_root_dir``.
        lightning: ``"pytorch_lightning"``, ``"lightning.pytorch"``, or ``"auto"``: every
            Lightning namespace this process has imported, so the callbacks are instances
            of the ``Callback`` class of the Trainer you pass them to.
        throughput_monitor: Samples/s, data wait percentiles, the data-bound verdict.
        resource_monitor: CPU, RAM, process-tree memory, disk and GPU gauges (1 Hz thread).
        profiler: ``torch.profiler`` windows from config or the dashboard's ``p`` key.
        alerts: Sustained-condition alerts with hints.
        rank_stats: DDP cross-rank figures and the straggler alert (no-op in one process).
        bridge: The live stream that ``ocrtop ps/attach/tail`` read.

    Returns:
        The callbacks, in the order the trainer should run them.
    """
    if not enabled:
        return []
    from ocrtop.compat import NAMESPACES, imported_namespaces
    from ocrtop.monitor import build
    from ocrtop.ocr.callbacks.link.console import install_console_fallback

    if lightning == "auto":
        namespaces = imported_namespaces()
    elif lightning in NAMESPACES:
        namespaces = (lightning,)
    else:
        raise TypeError(f"ocrtop.callbacks: lightning must be 'auto' or one of {NAMESPACES}")
    options = {
        "throughput_monitor": throughput_monitor,
        "resource_monitor": resource_monitor,
        "profiler": profiler,
        "alerts": alerts,
        "rank_stats": rank_stats,
        "bridge": bridge,
    }
    install_console_fallback()
    shared = {"run_dir": run_dir} if run_dir is not None else {}
    return build(options, shared=shared, namespaces=namespaces)
