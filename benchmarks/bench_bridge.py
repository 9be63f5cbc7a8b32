"""Bridge benchmarks: publish() cost, end-to-end latency, throughput, bytes per event.

Run:  .venv/bin/python benchmarks/bench_bridge.py   (add --quick for a smoke run)

Viewers run as separate processes, as the real TUI does, so the publisher's
process only pays for publishing and serving. Each figure is printed with the
method used to get it; the last line is the same figures as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bridge.client import BridgeClient
from bridge.protocol import Message
from bridge.publisher import Publisher
from bridge.server import ServerConfig

# What a training step emits: throughput metrics, losses with their components, progress.
TYPICAL: list[tuple[str, dict[str, Any]]] = [
    ("metrics", {"values": {"perf/samples_per_second": 182.4, "perf/step_ms": 87.7,
                            "perf/data_wait_ms": 3.21, "perf/compute_ms": 84.5}}),
    ("metrics", {"values": {"train/loss": 0.4312, "train/loss_prob": 0.2101,
                            "train/loss_thresh": 0.1534, "train/loss_binary": 0.0677,
                            "lr": 0.00697}}),
    ("progress", {"epoch": 3, "step": 1234, "batch_idx": 34, "num_batches": 250,
                  "max_epochs": 20, "total_steps": 5000}),
]  # fmt: skip


def _pct(values: list[float] | list[int], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# --- the viewer process ---


async def _viewer(sock: str, until: int) -> None:
    client = await BridgeClient.connect(sock)
    print("ready", flush=True)
    lat: list[float] = []
    count = dropped = 0
    first = last = 0.0
    async for msg in client:
        now = time.time()
        if msg.type == "dropped":
            dropped += msg.payload["count"]
        elif msg.type != "snapshot":
            if not count:
                first = now
            count += 1
            last = now
            lat.append(now - msg.t)
            if msg.seq >= until:
                break
    await client.close()
    result = {"count": count, "dropped": dropped, "first": first, "last": last}
    result.update(lat_p50=_pct(lat, 0.5), lat_p99=_pct(lat, 0.99))
    print(json.dumps(result), flush=True)


def _start_viewers(sock: str, n: int, until: int) -> list[subprocess.Popen[str]]:
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--viewer", sock, "--until", str(until)],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(n)
    ]
    for p in procs:
        assert p.stdout is not None
        if p.stdout.readline().strip() != "ready":
            raise RuntimeError("viewer failed to start")
    return procs


def _results(procs: list[subprocess.Popen[str]]) -> list[dict[str, Any]]:
    out = []
    for p in procs:
        stdout, _ = p.communicate(timeout=120)
        out.append(json.loads(stdout.strip().splitlines()[-1]))
    return out


# --- measurements ---


def _publish_cost(pub: Publisher, n: int) -> tuple[float, float]:
    """Median and p99 of one publish() call in µs (timer overhead included)."""
    costs = []
    events = TYPICAL
    clock = time.perf_counter_ns
    for i in range(n):
        mtype, payload = events[i % 3]
        t0 = clock()
        pub.publish(mtype, payload, step=i, epoch=0)
        costs.append(clock() - t0)
        if i % 30 == 29:
            time.sleep(0.0002)  # a step's worth of events, then the step runs
    return statistics.median(costs) / 1000, _pct(costs, 0.99) / 1000


def bench_publish(run: Path, n: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    with Publisher(run / "a") as pub:
        out["none"] = _publish_cost(pub, n)
    with Publisher(run / "b") as pub:
        viewers = _start_viewers(str(pub.socket_path), 1, n)
        out["connected"] = _publish_cost(pub, n)
        _results(viewers)
    with Publisher(run / "c", server_config=ServerConfig(client_buffer_bytes=1 << 20)) as pub:
        frozen = socket.socket(socket.AF_UNIX)
        frozen.connect(str(pub.socket_path))  # never reads
        out["frozen"] = _publish_cost(pub, n)
        out["frozen_dropped"] = pub.stats()["unreported_drops"]
        frozen.close()
    return out


def bench_latency(run: Path, rate: int, seconds: float) -> dict[str, float]:
    n = int(rate * seconds)
    with Publisher(run / "lat") as pub:
        (viewer,) = _start_viewers(str(pub.socket_path), 1, n)
        start = time.perf_counter()
        for i in range(n):
            target = start + i / rate
            while (delay := target - time.perf_counter()) > 0:
                time.sleep(delay)
            mtype, payload = TYPICAL[i % 3]
            pub.publish(mtype, payload, step=i)
        (res,) = _results([viewer])
    return {"p50_ms": res["lat_p50"] * 1000, "p99_ms": res["lat_p99"] * 1000,
            "received": res["count"], "dropped": res["dropped"]}  # fmt: skip


def bench_throughput(run: Path, clients: int, n: int) -> dict[str, Any]:
    """Events/s through publish -> server -> N viewer processes, nothing dropped."""
    config = ServerConfig(client_buffer_bytes=512 << 20)
    with Publisher(run / f"tp{clients}", queue_size=n + 10, server_config=config) as pub:
        viewers = _start_viewers(str(pub.socket_path), clients, n)
        t0 = time.time()
        for i in range(n):
            mtype, payload = TYPICAL[i % 3]
            pub.publish(mtype, payload, step=i)
        publish_s = time.time() - t0
        res = _results(viewers)
    last = max(r["last"] for r in res)
    return {
        "events_per_s": n / (last - t0),
        "received": [r["count"] for r in res],
        "dropped": sum(r["dropped"] for r in res),
        "publish_only_per_s": n / publish_s,
    }


def bench_server(run: Path, n: int) -> float:
    """Server-thread cost per event (µs): encode, log, snapshot; no client, no contention."""
    pub = Publisher(run / "srv", queue_size=n + 10)
    for i in range(n):  # queued before start: the thread then drains them alone
        mtype, payload = TYPICAL[i % 3]
        pub.publish(mtype, payload, step=i)
    t0 = time.perf_counter()
    pub.start()
    while pub.stats()["events"] < n:
        time.sleep(0.001)
    elapsed = time.perf_counter() - t0
    pub.close()
    return elapsed / n * 1e6


def bench_bytes() -> dict[str, float]:
    sizes: dict[str, float] = {}
    for mtype, payload in TYPICAL:
        m = Message(mtype, time.time(), 123456, 1234, 3, payload)
        sizes[f"{mtype}:{len(payload.get('values', payload))}"] = len(m.encode())
    sizes["mean"] = statistics.mean(sizes.values())
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller counts (smoke run)")
    parser.add_argument("--viewer", help=argparse.SUPPRESS)
    parser.add_argument("--until", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.viewer:
        asyncio.run(_viewer(args.viewer, args.until))
        return
    scale = 0.1 if args.quick else 1.0
    tmp = Path(tempfile.mkdtemp(prefix="obb"))
    os.environ["OCRTOP_RUNTIME_DIR"] = str(tmp / "rt")
    try:
        load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        print(f"bridge benchmark  python {sys.version.split()[0]}  cpus {os.cpu_count()}  "
              f"load average {load} (other processes share these cpus)")  # fmt: skip
        pub = bench_publish(tmp, int(200_000 * scale))
        for case in ("none", "connected", "frozen"):
            med, p99 = pub[case]
            print(
                f"publish() cost, {case + ' client':<16} median {med:5.2f} µs   p99 {p99:6.2f} µs"
            )
        print(f"  (frozen client: {pub['frozen_dropped']} events dropped for it, none for the log)")
        lat = bench_latency(tmp, 1000, 5.0 * scale)
        print(
            f"latency publisher->viewer at 1k ev/s  p50 {lat['p50_ms']:.2f} ms  "
            f"p99 {lat['p99_ms']:.2f} ms  ({lat['received']} events, {lat['dropped']} dropped)"
        )
        tp1 = bench_throughput(tmp, 1, int(300_000 * scale))
        tp4 = bench_throughput(tmp, 4, int(100_000 * scale))
        for label, tp in (("1 viewer ", tp1), ("4 viewers", tp4)):
            print(f"sustained throughput to {label}: {tp['events_per_s']:9.0f} events/s "
                  f"(received {tp['received']}, dropped {tp['dropped']}; "
                  f"publish alone {tp['publish_only_per_s']:.0f}/s)")  # fmt: skip
        server_us = bench_server(tmp, int(200_000 * scale))
        print(f"server thread cost per event (encode + log + snapshot): {server_us:.2f} µs")
        size = bench_bytes()
        print("bytes per typical event: " + ", ".join(f"{k} {v:.0f}" for k, v in size.items()))
        figures = {"publish_us": pub, "latency_1k": lat, "throughput_1": tp1,
                   "throughput_4": tp4, "server_us": server_us, "bytes": size}  # fmt: skip
        print(json.dumps(figures))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
