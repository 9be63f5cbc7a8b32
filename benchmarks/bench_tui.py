"""TUI figures for BENCHMARKS.md: first frame, CPU per event rate, memory, train start.

    python benchmarks/bench_tui.py            # all figures (needs tmux for the terminal ones)
    python benchmarks/bench_tui.py --only memory

What it measures, and how:
- attach -> first full frame: a publisher process streams metrics; ``ocrtop attach JOB``
  starts in a tmux pane (a real pty); the clock stops when the pane shows the job id, a
  samples/s value, the GPU row and the loss (every panel filled), polled every 20 ms.
- TUI CPU at 100 and 1,000 events/s: the same, with the publisher held at a fixed event
  rate; CPU seconds of the ``ocrtop attach`` process over a 10 s window (psutil), as a
  percentage of one core.
- RSS after 1,000,000 events: events ingested into ``ocrtop.tui.core.state.AppState`` in this
process
  (the dashboard's only per-event work); RSS sampled every 250,000 events.
- ``ocrtop train`` -> first frame: tmux runs ``ocrtop train`` with this file as the
  trainer (``OCRTOP_TRAIN_SCRIPT``); first frame = the header drawn, first data = live
  samples/s. ``--real-train`` uses runners/train.py experiment=synthetic_debug instead.

The publisher (``mode=emit``) is this script too, so the numbers need nothing but ocrtop.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]


def perf(step: int) -> dict[str, float]:
    """What the throughput monitor and the module publish every step."""
    from ocrtop.bridge import names

    wave = math.sin(step / 5.0)
    return {names.SAMPLES_PER_SECOND: 40 + 5 * wave, names.STEP_MS: 200 - 10 * wave,
            names.DATA_WAIT_MS_P50: 4.0, names.DATA_WAIT_MS_P95: 9.0,
            names.DATA_WAIT_MS_P99: 15.0, names.COMPUTE_MS_P50: 190.0,
            names.TRAIN_LOSS: 1.0 / (1 + step / 500) + 0.05 * wave, names.LR: 1e-3}  # fmt: skip


def gauges(step: int) -> dict[str, float]:
    """What the resource monitor publishes about once a second (8 cores, one GPU)."""
    from ocrtop.bridge import names

    wave = math.sin(step / 5.0)
    values = {names.CPU_PERCENT: 50 + 10 * wave, names.RAM_USED_BYTES: 6e9,
              names.RAM_TOTAL_BYTES: 16e9, names.PROC_RSS_BYTES: 1.5e9,
              names.gpu(0, "util"): 90 + 5 * wave, names.gpu(0, "mem_used_bytes"): 8e9,
              names.gpu(0, "mem_total_bytes"): 24e9, names.gpu(0, "temp_c"): 65.0,
              names.gpu(0, "power_w"): 250.0}  # fmt: skip
    values.update({names.cpu_core(i): 30.0 + 5 * i + 10 * wave for i in range(8)})
    return values


def emit(argv: list[str]) -> int:
    """Publisher process: ``mode=emit rate=EVENTS_PER_S seconds=S [run_dir=DIR]``."""
    from ocrtop.bridge.publisher import Publisher

    opts = dict(a.split("=", 1) for a in argv if "=" in a)
    rate, seconds = float(opts.get("rate", 50)), float(opts.get("seconds", 60))
    run_dir = opts.get("run_dir") or tempfile.mkdtemp(prefix="bench-tui-run-")
    pub = Publisher(run_dir, meta={"experiment_name": "bench", "arch": "dbnet"})
    pub.start()
    print(pub.job_id, flush=True)
    pub.publish("status", {"status": "train", "max_epochs": 1, "total_steps": 10**9})
    start, sent, step, last_gauges = time.monotonic(), 0, 0, -1
    while (now := time.monotonic()) - start < seconds:
        due = int((now - start) * rate)
        if int(now) != last_gauges:  # the resource monitor's 1 Hz sample (one more event)
            last_gauges = int(now)
            pub.metrics(gauges(step), step, 0)
            sent += 1
        while sent < due:
            step += 1
            if sent % 2:
                pub.metrics(perf(step), step, 0)
            else:
                pub.publish("progress", {"epoch": 0, "step": step, "total_steps": 10**9}, step, 0)
            sent += 1
        time.sleep(0.005)
    pub.publish("status", {"status": "done", "exit_code": 0})
    pub.close()
    return 0


class Pane:
    """One tmux pane on a private server, for timing what a terminal shows."""

    def __init__(self, command: str, env: dict[str, str], cwd: str = ".") -> None:
        self.socket = f"bench-tui-{os.getpid()}-{time.monotonic_ns()}"
        envs = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        self.t0 = time.perf_counter()
        self._tmux("new-session", "-d", "-x", "120", "-y", "40",
                   f"cd {shlex.quote(cwd)} && env {envs} {command}; sleep 600")  # fmt: skip

    def _tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True,
                              text=True, timeout=30).stdout  # fmt: skip

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p")

    def wait_for(self, *needles: str, timeout: float = 120.0) -> float:
        """Seconds from the pane's start until every needle is on screen."""
        while time.perf_counter() - self.t0 < timeout:
            text = self.screen()
            if all(n in text for n in needles):
                return time.perf_counter() - self.t0
            time.sleep(0.02)
        raise TimeoutError(f"never saw {needles}; screen:\n{self.screen()}")

    def pid_of(self, name: str) -> psutil.Process:
        """The process under the pane whose command line contains ``name``."""
        shell = psutil.Process(int(self._tmux("display-message", "-p", "#{pane_pid}").strip()))
        for proc in [shell, *shell.children(recursive=True)]:
            # the pane's shell carries the whole command line too: only Python counts
            if proc.name().startswith("python") and name in " ".join(proc.cmdline()):
                return proc
        raise LookupError(name)

    def close(self) -> None:
        self._tmux("kill-server")


def start_emitter(
    rate: float, seconds: float, env: dict[str, str]
) -> tuple[subprocess.Popen[str], str]:
    """A publisher process at ``rate`` events/s; returns it and its job id."""
    argv = [sys.executable, __file__, "mode=emit", f"rate={rate}", f"seconds={seconds}"]
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True, env={**os.environ, **env})
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


def attach_figures(env: dict[str, str]) -> None:
    ocrtop = f"{shlex.quote(sys.executable)} -m ocrtop attach"
    emitter, job = start_emitter(20, 60, env)
    try:
        time.sleep(1.0)  # some history, as a running job has
        pane = Pane(f"{ocrtop} {job}", env)
        try:
            secs = pane.wait_for(job[:8], "samples/s", "gpu0", "loss ")
            print(f"attach -> first full frame: {secs:.2f} s")
        finally:
            pane.close()
    finally:
        emitter.terminate()
        emitter.wait()
    for rate in (100, 1000):
        emitter, job = start_emitter(rate, 25, env)
        pane = Pane(f"{ocrtop} {job}", env)
        try:
            pane.wait_for(job[:8], "samples/s")
            proc = pane.pid_of("-m ocrtop attach")
            time.sleep(2.0)
            c0, t0 = proc.cpu_times(), time.perf_counter()
            time.sleep(10.0)
            c1, t1 = proc.cpu_times(), time.perf_counter()
            busy = (c1.user + c1.system) - (c0.user + c0.system)
            target = 5 if rate == 100 else 15
            print(f"TUI CPU at {rate} events/s: {100 * busy / (t1 - t0):.1f}% of one core "
                  f"(target <= {target}%)")  # fmt: skip
        finally:
            pane.close()
            emitter.terminate()
            emitter.wait()


def memory_figure(total: int = 1_000_000) -> None:
    from ocrtop.tui.core.state import AppState

    state, proc = AppState(), psutil.Process()
    hello = {"type": "hello", "t": 0.0, "seq": 0, "payload": {"job_id": "bench", "rank": 0,
             "run_dir": "/bench", "start_time": 0.0}}  # fmt: skip
    state.ingest(hello, "s")
    gc.collect()
    base = proc.memory_info().rss
    marks = []
    t0 = time.perf_counter()
    for i in range(1, total + 1):
        if i % 2:
            values = gauges(i) if i % 1001 == 1 else perf(i)
            msg = {"type": "metrics", "t": i * 0.001, "seq": i, "step": i, "epoch": 0,
                   "payload": {"values": values}}  # fmt: skip
        else:
            msg = {"type": "progress", "t": i * 0.001, "seq": i, "step": i, "epoch": 0,
                   "payload": {"epoch": 0, "step": i, "total_steps": total}}  # fmt: skip
        state.ingest(msg, "s")
        if i % 250_000 == 0:
            gc.collect()
            marks.append((proc.memory_info().rss - base) / 2**20)
    rate = total / (time.perf_counter() - t0)
    trail = ", ".join(f"{m:+.1f}" for m in marks)
    print(
        f"RSS after {total:,} events: {marks[-1]:+.1f} MB over start "
        f"(every 250k: {trail} MB; target flat, <= 50 MB); ingest {rate:,.0f} events/s"
    )


def train_figure(env: dict[str, str], real: bool) -> None:
    ocrtop = f"{shlex.quote(sys.executable)} -m ocrtop train"
    if real:
        command = f"{ocrtop} experiment=synthetic_debug"
    else:
        env = {**env, "OCRTOP_TRAIN_SCRIPT": str(Path(__file__).resolve())}
        command = f"{ocrtop} mode=emit rate=20 seconds=20"
    workdir = tempfile.mkdtemp(prefix="bench-tui-train-")
    pane = Pane(command, env, cwd=workdir)
    try:
        first = pane.wait_for("ocrtop", "Throughput", "Profiler")
        data = pane.wait_for("samples/s", timeout=300)
        which = "runners/train.py synthetic_debug" if real else "a publisher-only trainer"
        print(
            f"ocrtop train -> first frame: {first:.2f} s; first live data: {data:.2f} s ({which})"
        )
    finally:
        try:  # the trainer runs in its own session: closing the pane would not stop it
            trainer = pane.pid_of("mode=emit" if not real else "runners/train.py")
            os.killpg(trainer.pid, 15)
        except (LookupError, ProcessLookupError, psutil.Error):
            pass
        pane.close()


def main() -> int:
    if any(a.startswith("mode=emit") for a in sys.argv[1:]):
        return emit(sys.argv[1:])
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--only", choices=["attach", "memory", "train"], help="one figure group")
    p.add_argument("--real-train", action="store_true", help="time the real pipeline's start")
    args = p.parse_args()
    runtime = tempfile.mkdtemp(prefix="bench-tui-")
    os.chmod(runtime, 0o700)
    env = {"OCRTOP_RUNTIME_DIR": runtime, "TERM": "xterm-256color",
           "PYTHONPATH": f"{ROOT}:{os.environ.get('PYTHONPATH', '')}"}  # fmt: skip
    have_tmux = shutil.which("tmux") is not None
    print(f"# bench_tui on {os.cpu_count()} CPUs, python {sys.version.split()[0]}")
    if args.only in (None, "memory"):
        memory_figure()
    for group, run in (("attach", lambda: attach_figures(env)),
                       ("train", lambda: train_figure(env, args.real_train))):  # fmt: skip
        if args.only not in (None, group):
            continue
        if not have_tmux:
            print(f"{group}: skipped (tmux is not installed)")
            continue
        run()
    shutil.rmtree(runtime, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
