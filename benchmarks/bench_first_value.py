"""When the dashboard first shows a number, against when it first shows anything.

    python benchmarks/bench_first_value.py                 # replay + attach, 7 runs each
    python benchmarks/bench_first_value.py --runs 3 --only replay

A tmux pane (120×40) runs ``ocrtop replay RUN_DIR`` (a synthetic run, ``bench_growth``'s
realistic mix) or ``ocrtop attach JOB`` (a publisher process at 20 events/s, started 1 s
earlier); the screen is read every 10 ms. Two times per run, from the pane's start:

- *first frame*: the job id and the "samples/s" label are on screen: Python, the imports,
  Textual's start and the first layout, with placeholders (``— samples/s``);
- *first value*: a number stands before "samples/s" (``43.4 samples/s``).

The first frame is the reference from the same run: it is what the terminal costs
whatever the dashboard does. The difference is the dashboard's own wait, here for data
that is already in its state (the replay's first metrics are 0.1 s into the recording).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_growth import write_run  # noqa: E402
from bench_tui import Pane, start_emitter  # noqa: E402

VALUE = re.compile(r"\d+\.\d samples/s")


def first_frame_and_value(command: str, job: str, env: dict[str, str]) -> tuple[float, float]:
    """Seconds from the pane's start to the first frame, and to the first samples/s value."""
    pane = Pane(command, env)
    frame = None
    try:
        while time.perf_counter() - pane.t0 < 60.0:
            text = pane.screen()
            now = time.perf_counter() - pane.t0
            if frame is None and job in text and "samples/s" in text:
                frame = now
            if VALUE.search(text):
                return frame if frame is not None else now, now
            time.sleep(0.01)
        raise TimeoutError(f"no samples/s value on screen:\n{pane.screen()}")
    finally:
        pane.close()


def report(label: str, runs: list[tuple[float, float]]) -> None:
    frames, values = [r[0] for r in runs], [r[1] for r in runs]
    waits = [v - f for f, v in runs]
    load = Path("/proc/loadavg").read_text().split()[0]
    print(f"{label:8} first frame median {statistics.median(frames):.2f} s, first value median "
          f"{statistics.median(values):.2f} s (max {max(values):.2f}); value after frame: median "
          f"{statistics.median(waits):.2f} s, max {max(waits):.2f} s  [{len(runs)} runs, "
          f"load {load}]")  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--events", type=int, default=100_000, help="events in the replayed run")
    p.add_argument("--only", choices=["replay", "attach"])
    args = p.parse_args()
    if shutil.which("tmux") is None:
        print("skipped: tmux is not installed")
        return 0
    tmp = Path(tempfile.mkdtemp(prefix="bench-ffv-"))
    runtime = tmp / "rt"
    runtime.mkdir(mode=0o700)
    env = {"OCRTOP_RUNTIME_DIR": str(runtime), "TERM": "xterm-256color",
           "PYTHONPATH": f"{ROOT}:{os.environ.get('PYTHONPATH', '')}"}  # fmt: skip
    ocrtop = f"{shlex.quote(sys.executable)} -m ocrtop"
    print(f"# bench_first_value on {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    try:
        if args.only in (None, "replay"):
            run = write_run(tmp / "run", args.events).parent
            cmd = f"{ocrtop} replay {shlex.quote(str(run))}"
            report("replay", [first_frame_and_value(cmd, "bench", env) for _ in range(args.runs)])
        if args.only in (None, "attach"):
            runs = []
            for _ in range(args.runs):
                emitter, job = start_emitter(20, 30, {**os.environ, **env})
                try:
                    time.sleep(1.0)  # some history, as a running job has
                    runs.append(first_frame_and_value(f"{ocrtop} attach {job}", job[:8], env))
                finally:
                    emitter.terminate()
                    emitter.wait()
            report("attach", runs)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
