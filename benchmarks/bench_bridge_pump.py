"""The bridge's event pump alone: CPU per event, batch encoding vs one frame at a time.

Run:  .venv/bin/python benchmarks/bench_bridge_pump.py [--events 100000] [--rounds 5]

The server thread's share of the bridge's cost, without sockets or viewers: the
typical events of ``bench_bridge.py`` go through ``EventPump.drain`` (validate,
encode, ``events.jsonl``, snapshot, fan-out to two sinks), measured as this thread's
CPU time. The baseline in the same run is the same pump with batch encoding turned
off (every frame encoded alone by ``encode_event``, the pre-issue-13 path), rounds
alternating so both see the same load. The stream's bytes are checked equal in
meaning (decoded with the stdlib) between the two.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_bridge import TYPICAL
from ocrtop.bridge import pump as pump_module
from ocrtop.bridge.codec import FAST_CODEC
from ocrtop.bridge.eventlog import EventLogWriter

BATCH_ENCODE = pump_module.encode_messages


class _Sink:
    live = True

    def __init__(self) -> None:
        self.data: list[bytes] = []

    def enqueue_batch(self, data: bytes, count: int) -> None:
        self.data.append(data)


def one_run(batch: bool, n: int, log_path: Path) -> tuple[float, bytes]:
    """CPU µs per event through the pump; returns the streamed bytes too."""
    pump_module.encode_messages = BATCH_ENCODE if batch else (lambda msgs, nulls: None)  # type: ignore[assignment]
    t = 1796154303.5  # the same events in every round: the streams are compared
    source: deque[tuple[Any, ...]] = deque(
        (t + i * 1e-6, TYPICAL[i % 3][0], TYPICAL[i % 3][1], i, None) for i in range(n)
    )
    sinks = [_Sink(), _Sink()]
    eventlog = EventLogWriter(log_path)
    pump = pump_module.EventPump(source, eventlog, {}, lambda: sinks)
    t0 = time.thread_time()
    while source:
        pump.drain()
    cpu = time.thread_time() - t0
    eventlog.close()
    log_path.unlink()
    pump_module.encode_messages = BATCH_ENCODE  # type: ignore[assignment]
    return cpu / n * 1e6, b"".join(sinks[0].data)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    log_path = Path(tempfile.mkdtemp(prefix="obp")) / "events.jsonl"
    load0 = os.getloadavg()
    costs: dict[bool, list[float]] = {False: [], True: []}
    streams: dict[bool, bytes] = {}
    for _ in range(args.rounds):
        for batch in (False, True):
            cost, streams[batch] = one_run(batch, args.events, log_path)
            costs[batch].append(cost)
    same = [json.loads(x) for x in streams[False].splitlines()] == [
        json.loads(x) for x in streams[True].splitlines()
    ]
    load1 = os.getloadavg()
    one, many = statistics.median(costs[False]), statistics.median(costs[True])
    print(f"pump CPU per event ({FAST_CODEC}, {args.events} typical events, "
          f"{args.rounds} alternating rounds, cpus {os.cpu_count()}, "
          f"load {load0[0]:.2f} {load0[1]:.2f} -> {load1[0]:.2f} {load1[1]:.2f})")  # fmt: skip
    for label, key in (("one frame at a time (baseline)", False), ("batch encoding", True)):
        cost = statistics.median(costs[key])
        print(f"  {label:<30}: median {cost:.2f} µs  {[round(c, 2) for c in costs[key]]}")
    print(f"  ratio {one / many:.2f}x; streams equal in meaning: {same}")
    print(json.dumps({"one_us": one, "batch_us": many, "same": same, "codec": FAST_CODEC}))


if __name__ == "__main__":
    main()
