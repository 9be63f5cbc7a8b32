"""Bridge benchmarks: publish() cost, end-to-end latency, throughput, bytes per event.

Run:  .venv/bin/python benchmarks/bench_bridge.py   (add --quick for a smoke run)
      --load burn|train|none  what runs next to it (default burn: one busy process, a
                              training run's main thread; train: a real tiny training)

Viewers run as separate processes, as the real TUI does, so the publisher's
process only pays for publishing and serving. Throughput is stated next to a raw
baseline from the same run: the same encoded lines written straight into a Unix
socket by a bare sender, read by the same viewer code (same decoder) on the other
side, so the ratio is what the bridge itself costs. Each figure is printed with the
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
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ocrtop.bridge.client import BridgeClient
from ocrtop.bridge.codec import CODEC_ENV, FAST_CODEC
from ocrtop.bridge.config import ServerConfig
from ocrtop.bridge.protocol import PROTOCOL_VERSION, Message, encode_event, encode_obj
from ocrtop.bridge.publisher import Publisher

ROOT = Path(__file__).resolve().parents[1]

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
    cpu0 = 0.0
    async for msg in client:
        now = time.time()
        if msg.type == "dropped":
            dropped += msg.payload["count"]
        elif msg.type != "snapshot":
            if not count:
                first = now
                cpu0 = time.process_time()
            count += 1
            last = now
            lat.append(now - msg.t)
            if msg.seq >= until:
                break
    cpu = time.process_time() - cpu0
    await client.close()
    result = {"count": count, "dropped": dropped, "first": first, "last": last, "cpu_s": cpu}
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
        cpu0 = _process_cpu()
        for i in range(n):
            mtype, payload = TYPICAL[i % 3]
            pub.publish(mtype, payload, step=i)
        publish_s = time.time() - t0
        res = _results(viewers)
        cpu = _process_cpu() - cpu0  # the publishing loop + the server thread
    last = max(r["last"] for r in res)
    return {
        "events_per_s": n / (last - t0),
        "received": [r["count"] for r in res],
        "dropped": sum(r["dropped"] for r in res),
        "publish_only_per_s": n / publish_s,
        "publisher_cpu_us": cpu / n * 1e6,
        "viewer_cpu_us": statistics.mean(r["cpu_s"] for r in res) / n * 1e6,
    }


def _process_cpu() -> float:
    """CPU seconds of this process, all threads (the server thread included)."""
    t = os.times()
    return t.user + t.system


def _raw_sender(listener: socket.socket, clients: int, lines: list[bytes], t0: list[float]) -> None:
    """The baseline's sender: hello, then the lines in 256 KiB writes; no server logic."""
    hello = encode_obj(
        {"type": "hello", "t": time.time(), "seq": 0, "step": None, "epoch": None,
         "payload": {"protocol": PROTOCOL_VERSION, "job_id": "raw"}}
    )  # fmt: skip
    socks = [listener.accept()[0] for _ in range(clients)]
    for sock in socks:
        sock.sendall(hello)
    chunks, size, chunk = [], 0, []
    for line in lines:
        chunk.append(line)
        size += len(line)
        if size >= 256 << 10:
            chunks.append(b"".join(chunk))
            chunk, size = [], 0
    chunks.append(b"".join(chunk))
    ready.wait()
    t0.append(time.time())
    senders = [threading.Thread(target=_send_all, args=(s, chunks)) for s in socks]
    for th in senders:
        th.start()
    for th in senders:
        th.join()
    for sock in socks:
        sock.close()


def _send_all(sock: socket.socket, chunks: list[bytes]) -> None:
    for chunk in chunks:
        sock.sendall(chunk)


ready = threading.Event()


def bench_raw(run: Path, clients: int, n: int) -> dict[str, Any]:
    """Baseline: the same encoded events through a bare Unix socket to the same viewers."""
    t = time.time()
    lines = [
        encode_event(TYPICAL[i % 3][0], t, i + 1, i, None, TYPICAL[i % 3][1]) for i in range(n)
    ]
    run.mkdir(parents=True, exist_ok=True)
    path = str(run / f"raw{clients}.sock")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(16)
    ready.clear()
    t0: list[float] = []
    sender = threading.Thread(target=_raw_sender, args=(listener, clients, lines, t0))
    sender.start()
    viewers = _start_viewers(path, clients, n)
    ready.set()
    res = _results(viewers)
    sender.join()
    listener.close()
    last = max(r["last"] for r in res)
    return {
        "events_per_s": n / (last - t0[0]),
        "received": [r["count"] for r in res],
        "viewer_cpu_us": statistics.mean(r["cpu_s"] for r in res) / n * 1e6,
    }


# --- the load next to it ---


class Load:
    """What shares the CPUs with the benchmark, and how much CPU it got meanwhile."""

    def __init__(self, kind: str, run: Path) -> None:
        self.kind = kind
        self.proc: subprocess.Popen[bytes] | None = None
        env = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT)}
        if kind == "burn":
            self.proc = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        elif kind == "train":
            overrides = [
                "experiment=synthetic_debug", "trainer.max_epochs=50",
                "+trainer.limit_val_batches=1", "test_after_fit=false",
                "trainer.enable_progress_bar=false", "data.num_workers=0",
                "data.persistent_workers=false", "data.batch_size=2",
                f"hydra.run.dir={run / 'train'}",
            ]  # fmt: skip
            self.proc = subprocess.Popen(
                [sys.executable, str(ROOT / "runners" / "train.py"), *overrides],
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.time() + 120
            while not (run / "train" / "events.jsonl").exists() and time.time() < deadline:
                time.sleep(0.5)  # torch imports, the trainer starts: then it is under load
            time.sleep(3.0)
        self.marks: list[tuple[float, float]] = []

    def cpu_s(self) -> float:
        if self.proc is None:
            return 0.0
        try:
            fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def mark(self) -> None:
        self.marks.append((time.time(), self.cpu_s()))

    def share(self) -> float:
        """CPU the load process used between the first and last mark, in cores."""
        if len(self.marks) < 2 or self.proc is None:
            return 0.0
        (t0, c0), (t1, c1) = self.marks[0], self.marks[-1]
        return (c1 - c0) / max(t1 - t0, 1e-9)

    def close(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)


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


def _one_round(run: Path, scale: float) -> dict[str, Any]:
    """Raw baseline then bridge, for 1 and 4 viewers (``--part round``, one codec)."""
    out: dict[str, Any] = {}
    for clients, n in ((1, int(300_000 * scale)), (4, int(100_000 * scale))):
        out[f"raw_{clients}"] = bench_raw(run / f"r{clients}", clients, n)
        out[f"bridge_{clients}"] = bench_throughput(run / f"b{clients}", clients, n)
    out["server_us"] = bench_server(run, int(200_000 * scale))
    return out


def _interleaved(
    run: Path, load: Load, scale: float, rounds: int, codecs: list[str]
) -> dict[str, Any]:
    """Rounds of every codec, alternated so all see the same load; medians per case.

    Each round runs in a child process whose codec is chosen by ``OCRTOP_BRIDGE_CODEC``
    (the viewers it starts inherit it), so the stdlib figures come from the same run.
    """
    cases: dict[str, list[Any]] = {}
    load.mark()
    for r in range(rounds):
        for codec in codecs:
            env = {**os.environ, CODEC_ENV: codec}
            argv = [sys.executable, __file__, "--part", "round", "--scale", str(scale),
                    "--dir", str(run / f"{codec}{r}")]  # fmt: skip
            done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
            result = json.loads(done.stdout.strip().splitlines()[-1])
            if result.pop("codec") != codec:
                raise RuntimeError(f"the child did not use the {codec} codec")
            for key, value in result.items():
                cases.setdefault(f"{codec}:{key}", []).append(value)
    load.mark()
    out: dict[str, Any] = {}
    for key, results in cases.items():
        if key.endswith("server_us"):
            out[key] = statistics.median(results)
            continue
        results.sort(key=lambda res: res["events_per_s"])
        out[key] = results[len(results) // 2]
        out[key]["all_events_per_s"] = [round(res["events_per_s"]) for res in results]
    out["load_cores"] = load.share()
    out["loadavg"] = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="smaller counts (smoke run)")
    parser.add_argument("--load", choices=("burn", "train", "none"), default="burn")
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per figure")
    parser.add_argument("--codecs", default="msgspec,json" if FAST_CODEC != "json" else "json",
                        help="codecs to compare, alternated round by round")  # fmt: skip
    parser.add_argument("--part", help=argparse.SUPPRESS)
    parser.add_argument("--scale", type=float, default=1.0, help=argparse.SUPPRESS)
    parser.add_argument("--dir", help=argparse.SUPPRESS)
    parser.add_argument("--viewer", help=argparse.SUPPRESS)
    parser.add_argument("--until", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.viewer:
        asyncio.run(_viewer(args.viewer, args.until))
        return
    if args.part == "round":
        run = Path(args.dir)
        os.environ["OCRTOP_RUNTIME_DIR"] = str(run / "rt")
        print(json.dumps({**_one_round(run, args.scale), "codec": FAST_CODEC}))
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
        codecs = args.codecs.split(",")
        load = Load(args.load, tmp)
        try:
            tp = _interleaved(tmp, load, scale, args.rounds, codecs)
        finally:
            load.close()
        for codec in codecs:
            for label, clients in (("1 viewer ", 1), ("4 viewers", 4)):
                bridge, raw = tp[f"{codec}:bridge_{clients}"], tp[f"{codec}:raw_{clients}"]
                print(f"[{codec:7}] throughput to {label}: bridge {bridge['events_per_s']:7.0f} "
                      f"events/s, raw socket {raw['events_per_s']:7.0f} events/s, ratio "
                      f"{bridge['events_per_s'] / raw['events_per_s']:.2f} (median of "
                      f"{args.rounds}: {bridge['all_events_per_s']} vs {raw['all_events_per_s']}; "
                      f"dropped {bridge['dropped']})")  # fmt: skip
            b1, r1 = tp[f"{codec}:bridge_1"], tp[f"{codec}:raw_1"]
            print(f"[{codec:7}] CPU per event, 1 viewer: publisher process "
                  f"{b1['publisher_cpu_us']:.2f} µs (publish loop + server thread), viewer "
                  f"{b1['viewer_cpu_us']:.2f} µs; raw-socket viewer "
                  f"{r1['viewer_cpu_us']:.2f} µs")  # fmt: skip
            print(f"[{codec:7}] server thread wall time per event (encode + log + snapshot): "
                  f"{tp[f'{codec}:server_us']:.2f} µs")  # fmt: skip
        print(f"  load next to it: {args.load}, {tp['load_cores']:.2f} cores used by it "
              f"meanwhile; load average at the end {tp['loadavg']}")  # fmt: skip
        size = bench_bytes()
        print("bytes per typical event: " + ", ".join(f"{k} {v:.0f}" for k, v in size.items()))
        figures = {"publish_us": pub, "latency_1k": lat, "throughput": tp, "bytes": size,
                   "codec": FAST_CODEC}  # fmt: skip
        print(json.dumps(figures))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
