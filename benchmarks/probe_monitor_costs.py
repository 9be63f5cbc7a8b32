"""Where the monitor's cost per training step goes: one monitored fit, every part counted.

Run:  OMP_NUM_THREADS=1 .venv/bin/python benchmarks/probe_monitor_costs.py [--steps 300]

The companion of ``bench_monitor_overhead.py`` (same toy config, same callbacks, a reader
connected from another process): that one measures the whole-process cost against a
bare run, this one splits it up. It counts, over one fit:

- events published, by type, and the bridge server's wake-ups (its ``wakeups`` counter),
  doorbell rings, drains and events per drain;
- the resource sampler's CPU per sample (``time.thread_time`` around each sample) and
  per part (psutil CPU/memory calls, the process-tree walk, the memory readings);
- the CPU of each callback's per-step hooks, as mean and p50/p90 per call (a hook that
  publishes pays the doorbell ring when it is the first of its step to publish).

Everything is CPU time of the thread doing it, so a busy machine inflates it (cold
caches, GIL handoffs) but does not add other processes' time. Numbers print as text,
then as JSON on the last line.
"""

from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader

from ocrtop.bridge import loop as loop_mod
from ocrtop.bridge import publisher as publisher_mod
from ocrtop.bridge import pump as pump_mod
from ocrtop.ocr.callbacks.sampling import system as system_mod

_spec = importlib.util.spec_from_file_location(
    "bench_monitor_overhead", Path(__file__).with_name("bench_monitor_overhead.py")
)
assert _spec is not None and _spec.loader is not None
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

tt = time.thread_time
SAMPLER_PARTS = ("cpu_percent", "cpu_times_percent", "virtual_memory")


class Counts:
    """What the patched functions record."""

    def __init__(self) -> None:
        self.events: collections.Counter[str] = collections.Counter()
        self.rings = 0
        self.drain_sizes: list[int] = []
        self.samples: list[float] = []
        self.parts: dict[str, float] = collections.defaultdict(float)
        self.hooks: dict[str, list[float]] = collections.defaultdict(list)


def timed(fn: Callable[..., Any], add: Callable[[float], None]) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = tt()
        try:
            return fn(*args, **kwargs)
        finally:
            add(tt() - t0)

    return wrapper


def instrument(c: Counts) -> None:
    """Count publishes, rings and drains; time the sampler's parts (class-level patches)."""
    publish = publisher_mod.Publisher.publish

    def counted_publish(self: Any, type: str, *args: Any, **kwargs: Any) -> None:
        c.events[type] += 1
        publish(self, type, *args, **kwargs)

    ring = loop_mod.SelectorLoop.ring

    def counted_ring(self: Any) -> None:
        c.rings += 1
        ring(self)

    drain = pump_mod.EventPump.drain

    def counted_drain(self: Any) -> None:
        c.drain_sizes.append(len(self.source))
        drain(self)

    publisher_mod.Publisher.publish = counted_publish  # type: ignore[method-assign]
    loop_mod.SelectorLoop.ring = counted_ring  # type: ignore[method-assign]
    pump_mod.EventPump.drain = counted_drain  # type: ignore[method-assign]
    sample = system_mod.SystemSampler.sample
    system_mod.SystemSampler.sample = timed(sample, c.samples.append)  # type: ignore[method-assign]
    for owner, name in [(system_mod.psutil, n) for n in SAMPLER_PARTS] + [
        (system_mod, "tree_processes"),
        (system_mod, "read_memory"),
    ]:
        setattr(owner, name, timed(getattr(owner, name), _adder(c.parts, name)))


def _adder(totals: dict[str, float], key: str) -> Callable[[float], None]:
    def add(seconds: float) -> None:
        totals[key] += seconds

    return add


def time_hooks(callback: Any, c: Counts) -> None:
    """Wrap every per-step hook of one callback (instance attributes)."""
    for name in dir(callback):
        if name.startswith(bench.PER_STEP_HOOKS) and callable(getattr(callback, name)):
            key = f"{type(callback).__name__}.{name}"
            setattr(callback, name, timed(getattr(callback, name), c.hooks[key].append))


class ClockHooks(pl.Callback):
    """Times the step clock's hooks too, once a monitor has created it."""

    def __init__(self, c: Counts) -> None:
        self.c = c

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        for cb in trainer.callbacks:  # type: ignore[attr-defined]
            if type(cb).__name__ == "StepClock":
                time_hooks(cb, self.c)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    c = Counts()
    instrument(c)
    torch.manual_seed(0)
    data = DataLoader(bench.InMemoryImages(8 * 60, 64), batch_size=8, collate_fn=bench.collate)
    run_dir = tempfile.mkdtemp()
    cbs, bridge = bench.monitored_callbacks(run_dir)
    for cb in cbs:
        time_hooks(cb, c)
    threads = bench.ThreadCpu()
    readers: list[Any] = []
    threading.Thread(target=bench.attach_reader, args=(bridge, readers), daemon=True).start()
    module = bench.StepTimed(32)
    wakeups: list[int] = []

    class Wakeups(pl.Callback):
        def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
            wakeups.append(_wakeups(bridge))

        def on_train_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
            wakeups.append(_wakeups(bridge))

    trainer = bench.toy_trainer(run_dir, args.steps, [threads, Wakeups(), ClockHooks(c), *cbs])
    trainer.fit(module, data)
    for r in readers:
        r.communicate(timeout=30)
    seconds = module.stamps[-1] - module.stamps[0]
    steps = args.steps
    n_samples = max(1, len(c.samples))
    hooks = {
        k: {
            "mean_us": round(sum(v) * 1e6 / len(v), 1),
            "p50_us": round(statistics.median(v) * 1e6, 1),
            "p90_us": round(sorted(v)[int(0.9 * (len(v) - 1))] * 1e6, 1),
        }
        for k, v in sorted(c.hooks.items(), key=lambda kv: -sum(kv[1]))
        if sum(v) * 1e6 / len(v) >= 2.0
    }
    out = {
        "steps": steps,
        "steps_per_s": round(steps / seconds, 1),
        "events": dict(c.events),
        "events_per_s": round(sum(c.events.values()) / seconds, 1),
        "server_wakeups_per_s": round((wakeups[-1] - wakeups[0]) / seconds, 1)
        if len(wakeups) == 2 and wakeups[0] >= 0
        else None,
        "rings_per_s": round(c.rings / seconds, 1),
        "drains": len(c.drain_sizes),
        "events_per_drain": dict(collections.Counter(c.drain_sizes)),
        "sampler_samples": len(c.samples),
        "sampler_ms_per_sample": [round(s * 1e3, 2) for s in c.samples],
        "sampler_parts_ms_per_sample": {
            k: round(v * 1e3 / n_samples, 3) for k, v in c.parts.items()
        },
        "threads_cpu_ms_per_step": {
            k: round(v * 1e3 / steps, 4) for k, v in threads.delta().items()
        },
        "hooks_ms_per_step": round(sum(sum(v) for v in c.hooks.values()) * 1e3 / steps, 4),
        "hooks": hooks,
    }
    print(f"{steps} steps at {out['steps_per_s']} steps/s; events {out['events']}")
    print(
        f"bridge: {out['events_per_s']} events/s, {out['server_wakeups_per_s']} server "
        f"wake-ups/s, {out['rings_per_s']} rings/s, events per drain {out['events_per_drain']}"
    )
    print(f"sampler ms CPU per sample: {out['sampler_ms_per_sample']}")
    print(f"sampler parts, ms per sample: {out['sampler_parts_ms_per_sample']}")
    print(f"threads, ms CPU per step: {out['threads_cpu_ms_per_step']}")
    print(f"per-step hooks: {out['hooks_ms_per_step']} ms CPU per step")
    for k, v in hooks.items():
        print(
            f"  {k:55s} mean {v['mean_us']:7.1f}  p50 {v['p50_us']:7.1f}  p90 {v['p90_us']:7.1f} us"
        )
    print(json.dumps(out))


def _wakeups(bridge: Any) -> int:
    pub = bridge.publisher
    """The server's wake-up counter (-1 where the server has none)."""
    return int(pub.stats().get("wakeups", -1)) if pub is not None else -1


if __name__ == "__main__":
    main()
