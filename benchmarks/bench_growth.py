"""How ocrtop's costs grow with the run: a day-long log, a late attach, 16 ranks, 50 jobs.

    python benchmarks/bench_growth.py                    # every figure (tmux for the TUI ones)
    python benchmarks/bench_growth.py --only replay,sweep --events 200000

What it measures, and how (each against a reference from the same run):
- replay of a synthetic N-event run dir (default 1,000,000 events, realistic mix):
  in a child process per case, time until the state holds the first frame's data (a job
  with a samples/s value), time to the run's final state with ``start=1.0`` (skim, then
  nothing left to play), and peak RSS over the child's start (``ru_maxrss``); the same
  replay of a log a tenth the size shows whether memory is flat. Reference: what replay
  did before this change (read every message, sort, then play), timed the same way.
  ``ocrtop replay`` in a tmux pane: seconds until the pane shows the job and samples/s.
- ``ocrtop tail`` of that run dir: time to the first line, lines/s, RSS (psutil) after
  20k and after 200k lines (the rest is cut off: it streams, so more lines cost time only).
- ``ocrtop attach`` to a live job that has published N events (a publisher process),
  against one that published N/100: snapshot frame bytes, connect -> snapshot ingested
  in this process, and in a tmux pane the first full frame (job id, samples/s, GPU row,
  loss), as ``bench_tui.py`` measures it.
- 16 ranks (one process with 16 publishers, 25 events/s each plus 1 Hz gauges) into one
  ``ocrtop attach`` in tmux: CPU of the attach process over 10 s (psutil), as % of one
  core, against the same job with 1 rank.
- a 50-job sweep folder (49 finished jobs of N/50 events, one live): ``LiveFeed.backfill``
  until the sweep table has 50 rows; the longest event-loop stall meanwhile (a 10 ms
  ticker); reference: reading every job's whole log, as backfill did before.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_tui import Pane, gauges, perf  # noqa: E402

from ocrtop.bridge import names  # noqa: E402
from ocrtop.bridge.protocol import encode_event, encode_obj  # noqa: E402

T0 = 1_700_000_000.0


def _events(
    count: int, run_dir: Path, job_id: str, meta: dict[str, Any], rank: int = 0
) -> Iterator[bytes]:
    """A training run's log as the bridge writes it: hello, setup, per-step metrics and
    progress, 1 Hz gauges (every 100 events), validation and a log line every 10k steps."""
    hello = {"protocol": 1, "job_id": job_id, "rank": rank, "world_size": 1, "pid": 1,
             "host": "bench", "run_dir": str(run_dir), "start_time": T0, "meta": meta}  # fmt: skip
    yield encode_obj({"type": "hello", "t": T0, "seq": 0, "step": None, "epoch": None,
                      "payload": hello})  # fmt: skip
    setup = {"status": "setup", "experiment_name": "bench", "arch": "dbnet", "max_epochs": 10,
             "total_steps": count // 2}  # fmt: skip
    yield encode_event("status", T0, 1, None, None, setup)
    yield encode_event("status", T0, 2, None, None, {"status": "train"})
    seq, step = 2, 0
    while seq < count - 1:
        step += 1
        t = T0 + step * 0.1
        epoch = step // 10_000
        seq += 1
        yield encode_event("metrics", t, seq, step, epoch, {"values": perf(step)})
        seq += 1
        progress = {"epoch": epoch, "step": step, "batch_idx": step % 10_000,
                    "num_batches": 10_000, "total_steps": count // 2}  # fmt: skip
        yield encode_event("progress", t, seq, step, epoch, progress)
        if step % 50 == 0:
            seq += 1
            yield encode_event("metrics", t, seq, step, epoch, {"values": gauges(step)})
        if step % 10_000 == 0:
            seq += 1
            val = {names.VAL_HMEAN: 0.5 + 0.4 * step / count, names.VAL_PRECISION: 0.7}
            yield encode_event("metrics", t, seq, step, epoch, {"values": val})
            seq += 1
            log = {"level": "INFO", "logger": "ocr.train", "message": f"epoch {epoch} done"}
            yield encode_event("log", t, seq, step, epoch, log)
    yield encode_event("status", T0 + step * 0.1, seq + 1, None, None,
                       {"status": "done", "exit_code": 0})  # fmt: skip


def write_run(run_dir: Path, count: int, job_id: str = "bench", meta: Any = None) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    path = run_dir / "events.jsonl"
    with open(path, "wb") as f:
        batch: list[bytes] = []
        for line in _events(count, run_dir, job_id, meta or {}):
            batch.append(line)
            if len(batch) >= 10_000:
                f.write(b"".join(batch))
                batch.clear()
        f.write(b"".join(batch))
    return path


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _child(case: str, *args: str) -> dict[str, Any]:
    argv = [sys.executable, __file__, "--case", case, *args]
    out = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=600)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- replay ---


def case_replay(log: str, start: float, old: bool) -> dict[str, Any]:
    """In a child: replay ``log`` as fast as possible; when the first frame's data is in."""
    from ocrtop.tui.core.feeds.replay import ReplayFeed
    from ocrtop.tui.core.state import AppState

    state = AppState(readonly=True)
    base = _maxrss_mb()
    t0 = time.perf_counter()
    first: list[float] = []

    def ready() -> bool:
        job = state.job
        return job is not None and job.primary.value(names.SAMPLES_PER_SECOND) is not None

    async def main() -> None:
        if old:  # replay before this change: read every rank's whole log and sort, then play
            from ocrtop.bridge.eventlog import read_events

            msgs = sorted(((m, "events.jsonl") for m in read_events(log)), key=lambda p: p[0].t)
            source = ReplayFeed(state, lambda m: None, messages=msgs, speed=1e9)
        else:
            source = ReplayFeed(state, lambda m: None, log, speed=1e9, start=start)
        task = asyncio.create_task(source.run())
        while not task.done():
            if not first and ready():
                first.append(time.perf_counter() - t0)
            await asyncio.sleep(0.001)
        await task

    asyncio.run(main())
    done = time.perf_counter() - t0
    job = state.job
    return {"first_s": first[0] if first else done, "done_s": done,
            "rss_mb": _maxrss_mb() - base, "status": job.status if job else None}  # fmt: skip


def replay_figures(tmp: Path, events: int, big: Path, small: Path, tmux: bool) -> None:
    cases = [
        ("before: read all, sort, play", big, ["--old"]),
        ("now: lazy, from the start", big, []),
        (f"now: lazy, from the start ({events // 10:,} events)", small, []),
        ("now: start=1.0 (skim to the end)", big, ["--start", "1.0"]),
    ]
    for label, log, extra in cases:
        r = _child("replay", str(log), *extra)
        print(f"replay {label:44} first frame {r['first_s']:6.2f} s, final state "
              f"{r['done_s']:6.2f} s, peak RSS +{r['rss_mb']:6.1f} MB ({r['status']})")  # fmt: skip
    if tmux:
        env = {"OCRTOP_RUNTIME_DIR": str(tmp / "rt"), "TERM": "xterm-256color",
               "PYTHONPATH": str(ROOT)}  # fmt: skip
        pane = Pane(f"{shlex.quote(sys.executable)} -m ocrtop replay {big.parent}", env)
        try:
            secs = pane.wait_for("bench", "samples/s", timeout=120)
            print(f"ocrtop replay (TUI, tmux) of {events:,} events -> first frame: {secs:.2f} s")
        finally:
            pane.close()


# --- tail ---


def tail_figures(big: Path, limit: int = 200_000) -> None:
    argv = [sys.executable, "-m", "ocrtop", "tail", str(big.parent)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})  # fmt: skip
    assert proc.stdout is not None
    ps = psutil.Process(proc.pid)
    first = 0.0
    rss: dict[int, float] = {}
    for n, _line in enumerate(proc.stdout, 1):
        if n == 1:
            first = time.perf_counter() - t0
        if n in (20_000, limit):
            rss[n] = ps.memory_info().rss / 2**20
        if n >= limit:
            break
    elapsed = time.perf_counter() - t0
    proc.terminate()
    proc.wait()
    print(f"ocrtop tail of the run dir: first line {first:.2f} s, {limit / elapsed:,.0f} lines/s, "
          f"RSS {rss.get(20_000, 0):.1f} MB after 20k lines, {rss.get(limit, 0):.1f} MB "
          f"after {limit // 1000}k")  # fmt: skip


# --- attach to a long-running job ---


def case_emit_many(count: int, run_dir: str) -> None:
    """Publisher process: ``count`` events as fast as the server takes them, then 20/s."""
    from ocrtop.bridge.publisher import Publisher

    meta = {"experiment_name": "bench", "arch": "dbnet"}
    pub = Publisher(run_dir, meta=meta)
    pub.start()
    published = 0
    for line_step in range(1, count // 2 + 1):
        while published - pub.stats()["events"] > 30_000:  # never overflow the buffer
            time.sleep(0.005)
        pub.metrics(perf(line_step), line_step, 0)
        pub.publish("progress", {"epoch": 0, "step": line_step, "total_steps": count}, line_step)
        published += 2
        if line_step % 50 == 0:
            pub.metrics(gauges(line_step), line_step, 0)
            published += 1
    while pub.stats()["events"] < published:
        time.sleep(0.05)
    print(pub.job_id, flush=True)
    step = count
    while True:
        step += 1
        pub.metrics(perf(step), step, 0)
        if step % 20 == 0:
            pub.metrics(gauges(step), step, 0)
        time.sleep(0.05)


def _emitter(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen([sys.executable, __file__, *args], stdout=subprocess.PIPE,
                            text=True, env={**os.environ, **env})  # fmt: skip
    assert proc.stdout is not None
    return proc, proc.stdout.readline().strip()


async def _snapshot(job: str) -> tuple[int, float, int]:
    """Snapshot frame bytes, connect -> snapshot ingested (s), and events it carried."""
    from ocrtop.bridge.client import BridgeClient
    from ocrtop.tui.core.state import AppState

    state = AppState()
    t0 = time.perf_counter()
    client = await BridgeClient.connect(job)
    try:
        msg = await client.recv(timeout=30)
        assert msg is not None and msg.type == "snapshot"
        state.ingest(msg, job)
        return len(msg.encode()), time.perf_counter() - t0, len(msg.payload["events"])
    finally:
        await client.close()


def attach_figures(tmp: Path, events: int, tmux: bool) -> None:
    env = {"OCRTOP_RUNTIME_DIR": str(tmp / "rt"), "TERM": "xterm-256color",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    os.environ["OCRTOP_RUNTIME_DIR"] = env["OCRTOP_RUNTIME_DIR"]
    for count in (events // 100, events):
        t0 = time.perf_counter()
        emitter, job = _emitter(["--case", "emit-many", str(count), str(tmp / f"job{count}")], env)
        made = time.perf_counter() - t0
        try:
            size, secs, carried = asyncio.run(_snapshot(job))
            line = (f"attach to a live job after {count:>9,} events (published in {made:.0f} s): "
                    f"snapshot {size / 1024:6.1f} KiB, {carried} events, connect -> ingested "
                    f"{secs:.2f} s")  # fmt: skip
            if tmux:
                pane = Pane(f"{shlex.quote(sys.executable)} -m ocrtop attach {job}", env)
                try:
                    line += f"; TUI first full frame {pane.wait_for(job[:8], 'samples/s', 'gpu0', 'loss '):.2f} s"  # noqa: E501
                finally:
                    pane.close()
            print(line)
        finally:
            emitter.terminate()
            emitter.wait()


# --- 16 ranks ---


def case_emit_ranks(ranks: int, rate: float, run_dir: str) -> None:
    """One process, ``ranks`` publishers of one job (a DDP job's ranks), ``rate`` events/s each."""
    from ocrtop.bridge.publisher import Publisher

    meta = {"experiment_name": "bench", "arch": "dbnet"}
    pubs = [Publisher(run_dir, rank=r, world_size=ranks, local_rank=r, meta=meta,
                      group="bench16") for r in range(ranks)]  # fmt: skip
    for pub in pubs:
        pub.start()
    print(pubs[0].job_id, flush=True)
    for pub in pubs:
        pub.publish("status", {"status": "train", "max_epochs": 1, "total_steps": 10**9})
    start, sent, step, last_gauges = time.monotonic(), 0, 0, -1
    while True:
        now = time.monotonic()
        if int(now) != last_gauges:
            last_gauges = int(now)
            for pub in pubs:
                pub.metrics(gauges(step), step, 0)
        while sent < int((now - start) * rate):
            step += 1
            sent += 1
            for pub in pubs:
                if sent % 2:
                    pub.metrics(perf(step), step, 0)
                else:
                    pub.publish("progress", {"epoch": 0, "step": step, "total_steps": 10**9}, step)
        time.sleep(0.01)


async def _viewers_per_rank(registry: Path, group: str) -> list[int]:
    """Each rank's connected clients other than this probe (the server's ``ping`` count)."""
    from ocrtop.bridge.client import BridgeClient
    from ocrtop.bridge.registry import list_jobs

    counts = []
    for entry in sorted(list_jobs(group=group, directory=registry), key=lambda e: e.rank):
        client = await BridgeClient.connect(entry.socket)
        try:
            cmd_id = await client.send_command("ping")
            while (msg := await client.recv(timeout=10)) is not None:
                if msg.type == "ack" and msg.payload.get("id") == cmd_id:
                    counts.append(int(msg.payload["result"]["clients"]) - 1)
                    break
        finally:
            await client.close()
    return counts


def ranks_figures(tmp: Path) -> None:
    env = {"OCRTOP_RUNTIME_DIR": str(tmp / "rt"), "TERM": "xterm-256color",
           "PYTHONPATH": str(ROOT)}  # fmt: skip
    for ranks in (1, 16):
        emitter, job = _emitter(
            ["--case", "emit-ranks", str(ranks), "25", str(tmp / f"ddp{ranks}")], env
        )
        pane = Pane(f"{shlex.quote(sys.executable)} -m ocrtop attach {job}", env)
        try:
            pane.wait_for(job[:8], "samples/s", timeout=120)
            proc = pane.pid_of("-m ocrtop attach")
            time.sleep(3.0)  # every rank connected and its snapshot in
            c0, t0 = proc.cpu_times(), time.perf_counter()
            time.sleep(10.0)
            c1, t1 = proc.cpu_times(), time.perf_counter()
            busy = (c1.user + c1.system) - (c0.user + c0.system)
            followed = asyncio.run(_viewers_per_rank(tmp / "rt", "bench16"))
            print(f"{ranks:2} rank(s) x 25 events/s + 1 Hz gauges into one `ocrtop attach`: "
                  f"TUI CPU {100 * busy / (t1 - t0):.1f}% of one core (viewers per rank, "
                  f"from a ping: {followed})")  # fmt: skip
        finally:
            pane.close()
            emitter.terminate()
            emitter.wait()


# --- a 50-job sweep folder ---


def sweep_figures(tmp: Path, events: int, jobs: int = 50) -> None:
    from ocrtop.bridge.eventlog import read_events
    from ocrtop.tui.core import derive
    from ocrtop.tui.core.feeds.live import LiveFeed
    from ocrtop.tui.core.state import AppState

    sweep = tmp / "sweep"
    per_job = max(events // jobs, 100)
    for i in range(jobs - 1):
        meta = {"sweep_job": i, "overrides": [f"optimizer.lr={i}"]}
        write_run(sweep / str(i), per_job, job_id=f"job{i}", meta=meta)
    live = sweep / str(jobs - 1)
    live.mkdir()

    async def backfill(full: bool) -> tuple[float, float, int]:
        state = AppState(clock=lambda: T0 + 1e6)
        hello = {"job_id": "live", "rank": 0, "world_size": 1, "run_dir": str(live),
                 "start_time": T0, "meta": {"sweep_job": jobs - 1}}  # fmt: skip
        state.ingest({"type": "hello", "t": T0, "seq": 0, "payload": hello}, "live")
        source = LiveFeed(state, lambda m: None, group="g")
        stall = [0.0]

        async def ticker() -> None:
            while True:
                t = time.perf_counter()
                await asyncio.sleep(0.01)
                stall[0] = max(stall[0], time.perf_counter() - t - 0.01)

        tick = asyncio.create_task(ticker())
        t0 = time.perf_counter()
        if full:  # before: every job's whole log, read and ingested
            for i in range(jobs - 1):
                run = sweep / str(i)
                msgs = await asyncio.to_thread(lambda r=run: list(read_events(r)))
                for m in msgs:
                    source._ingest(m, f"log:{run}")
        else:
            await source.backfill(live={str(live)})
        elapsed = time.perf_counter() - t0
        tick.cancel()
        rows = derive.sweep_rows(state.jobs, state.now())
        return elapsed, stall[0], len(rows)

    before = asyncio.run(backfill(full=True))
    now = asyncio.run(backfill(full=False))
    for label, (secs, stall, rows) in (("before: whole logs", before), ("now: skimmed", now)):
        print(f"sweep folder of {jobs} jobs x {per_job:,} events, {label:20}: table of {rows} "
              f"rows in {secs:.2f} s, longest event-loop stall {stall * 1000:.0f} ms")  # fmt: skip


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    p.add_argument("--events", type=int, default=1_000_000)
    p.add_argument("--only", default="replay,tail,attach,ranks,sweep")
    p.add_argument("--case", help=argparse.SUPPRESS)
    p.add_argument("--start", type=float, default=0.0, help=argparse.SUPPRESS)
    p.add_argument("--old", action="store_true", help=argparse.SUPPRESS)
    args, rest = p.parse_known_args()
    if args.case == "replay":
        print(json.dumps(case_replay(rest[0], args.start, args.old)))
        return 0
    if args.case == "emit-many":
        case_emit_many(int(rest[0]), rest[1])
        return 0
    if args.case == "emit-ranks":
        case_emit_ranks(int(rest[0]), float(rest[1]), rest[2])
        return 0
    only = set(args.only.split(","))
    tmux = shutil.which("tmux") is not None
    tmp = Path(tempfile.mkdtemp(prefix="obg"))
    (tmp / "rt").mkdir(mode=0o700)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"# bench_growth: {os.cpu_count()} CPUs, load average {load}, {args.events:,} events"
          + ("" if tmux else " (no tmux: TUI figures skipped)"))  # fmt: skip
    try:
        if only & {"replay", "tail"}:
            t0 = time.perf_counter()
            big = write_run(tmp / "run", args.events)
            small = write_run(tmp / "small", args.events // 10)
            print(
                f"  wrote {big.stat().st_size / 2**20:.0f} MB in {time.perf_counter() - t0:.0f} s"
            )
            if "replay" in only:
                replay_figures(tmp, args.events, big, small, tmux)
            if "tail" in only:
                tail_figures(big, min(200_000, args.events // 2))
        if "attach" in only:
            attach_figures(tmp, args.events, tmux)
        if "ranks" in only and tmux:
            ranks_figures(tmp)
        if "sweep" in only:
            sweep_figures(tmp, args.events)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"# load average at the end {', '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
