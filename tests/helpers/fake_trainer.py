"""A stand-in trainer for TUI end-to-end tests and benchmarks: the real Publisher, fake numbers.

Usage (Hydra-style ``key=value`` arguments, so ``ocrtop train`` can start it verbatim):

    python tests/helpers/fake_trainer.py run_dir=DIR steps=120 step_s=0.25 exit_code=0

It publishes what the training callbacks publish (status, progress, perf/sys/gpu metrics,
validation per epoch, logs), answers ``profile`` with a window whose top-k arrives after
the requested steps, and ``stop`` with a graceful ``stopped`` status.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from ocrtop.bridge import names
from ocrtop.bridge.publisher import Publisher
from tests.helpers.streams import EPOCHS, STEPS_PER_EPOCH, StreamBuilder, step_metrics


def parse(argv: list[str]) -> dict[str, str]:
    """``key=value`` pairs (anything else, e.g. Hydra's ``-m``, is ignored)."""
    return dict(a.split("=", 1) for a in argv if "=" in a)


def main(argv: list[str]) -> int:
    """Run the fake training loop; returns the configured exit code."""
    opts = parse(argv)
    steps, step_s = int(opts.get("steps", 120)), float(opts.get("step_s", 0.25))
    run_dir = Path(opts.get("run_dir", f"outputs/fake/{time.strftime('%Y-%m-%d_%H-%M-%S')}"))
    meta = {"experiment_name": "fake_trainer", "arch": "dbnet"}
    pub = Publisher(run_dir, meta=meta)
    pub.start()
    total = steps
    pub.publish("status", {"status": "setup", **meta, "max_epochs": EPOCHS, "total_steps": total})
    pub.publish("log", {"level": "INFO", "logger": "fake", "message": f"run dir {run_dir}"})
    pub.publish("status", {"status": "train"}, 0, 0)
    window: tuple[int, int, int] | None = None  # (start step, steps, requested at)
    final = "done"
    for step in range(1, steps + 1):
        epoch = min(EPOCHS - 1, (step - 1) // STEPS_PER_EPOCH)
        for cmd in pub.poll_commands():
            if cmd.command == "profile":
                n = int(cmd.args["steps"])
                window = (step, n, step)
                pub.reply(cmd, ok=True, result={"steps": n})
                pub.publish("profile", {"state": "armed", "trigger": "command", "steps": n}, step)
            elif cmd.command == "stop":
                pub.reply(cmd, ok=True)
                final = "stopped"
        if final == "stopped":
            break
        perf, gauges = step_metrics(step)
        pub.publish("progress", {"epoch": epoch, "step": step, "batch_idx": step % STEPS_PER_EPOCH,
                                 "num_batches": STEPS_PER_EPOCH, "max_epochs": EPOCHS,
                                 "total_steps": total}, step, epoch)  # fmt: skip
        pub.metrics({**perf, **gauges}, step, epoch)
        if window and step == window[0] + 1:
            pub.publish("profile", {"state": "started", "trigger": "command", "steps": window[1]})
        if window and step >= window[0] + window[1]:
            result = StreamBuilder().profile(time.time(), window[1], step)[-1]["payload"]
            result["trace_path"] = str(run_dir / "profiler_traces" / f"cmd_{step}.json")
            pub.publish("profile", result, step)
            window = None
        if step % STEPS_PER_EPOCH == 0:
            pub.metrics({names.VAL_HMEAN: 0.2 + 0.01 * step}, step, epoch)
            pub.publish(
                "log", {"level": "INFO", "logger": "fake", "message": f"epoch {epoch} done"}
            )
        time.sleep(step_s)
    code = int(opts.get("exit_code", 0))
    pub.publish("status", {"status": final, "exit_code": code})
    pub.close()
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
