"""A deterministic, realistic bridge stream for TUI tests, snapshots and benchmarks.

It mimics what the training callbacks publish for a tiny run: hello, setup status,
progress and perf/sys/gpu metrics every step, validation per epoch, one alert that
fires and later clears, log lines, and (on request) a profiling window's messages.
"""

from __future__ import annotations

import math
from typing import Any

from ocrtop.bridge import names

T0 = 1_700_000_000.0
JOB_ID = "synthetic_debug-20231114-221320-4242"
STEPS_PER_EPOCH = 20
EPOCHS = 3


class StreamBuilder:
    """Builds messages with increasing ``seq`` for one rank."""

    def __init__(self, job_id: str = JOB_ID, rank: int = 0, world_size: int = 1) -> None:
        self.job_id, self.rank, self.world_size = job_id, rank, world_size
        self.seq = 0

    def msg(
        self,
        kind: str,
        t: float,
        payload: dict[str, Any],
        step: int | None = None,
        epoch: int | None = None,
    ) -> dict[str, Any]:
        """One message dict in the wire format."""
        self.seq += 1
        return {
            "type": kind,
            "t": t,
            "seq": self.seq,
            "step": step,
            "epoch": epoch,
            "payload": payload,
        }

    def hello(self, t: float = T0) -> dict[str, Any]:
        """The stream's first message."""
        return self.msg(
            "hello",
            t,
            {
                "protocol": 1,
                "job_id": self.job_id,
                "rank": self.rank,
                "world_size": self.world_size,
                "local_rank": self.rank,
                "pid": 4242 + self.rank,
                "host": "node1",
                "run_dir": f"outputs/synthetic_debug/{self.job_id}",
                "command": ["runners/train.py", "experiment=synthetic_debug"],
                "start_time": t,
                "meta": {"experiment_name": "synthetic_debug", "arch": "dbnet"},
            },
        )

    def profile(self, t: float, steps: int = 20, step: int | None = None) -> list[dict[str, Any]]:
        """Armed, started and finished messages of one profiling window."""
        top = [
            ("aten::convolution_backward", 412.5, 0.0, 498.2, 340),
            ("aten::cudnn_convolution", 301.7, 0.0, 355.0, 340),
            ("aten::batch_norm", 88.1, 0.0, 120.4, 520),
            ("aten::add_", 41.0, 0.0, 41.0, 1880),
            ("Optimizer.step#AdamW.step", 30.2, 0.0, 77.5, 20),
        ]
        result = {
            "state": "finished",
            "trigger": "command",
            "steps": steps,
            "top_k": [
                {"name": n, "self_cpu_ms": a, "self_cuda_ms": b, "cpu_total_ms": c, "calls": k}
                for n, a, b, c, k in top
            ],
            "trace_path": "outputs/synthetic_debug/2023-11-14_22-13-20/profiler_traces/cmd_40.json",
            "split": {"data_wait_ms": 3.1, "forward_backward_ms": 240.0, "optimizer_ms": 12.5},
            "summary": "convolution backward dominates (43% of self CPU)",
            "error": None,
        }
        return [
            self.msg("profile", t, {"state": "armed", "trigger": "command", "steps": steps}, step),
            self.msg(
                "profile", t + 0.5, {"state": "started", "trigger": "command", "steps": steps}, step
            ),
            self.msg("profile", t + 2.0, result, step),
        ]


def step_metrics(step: int, cores: int = 4) -> tuple[dict[str, float], dict[str, float]]:
    """Per-step perf/train metrics and the ~1 Hz sys/gpu gauges for ``step``."""
    wave = math.sin(step / 3.0)
    perf = {
        names.SAMPLES_PER_SECOND: 16.0 + 2.0 * wave,
        names.BATCHES_PER_SECOND: 2.0 + 0.25 * wave,
        names.STEP_MS: 500.0 - 40.0 * wave,
        names.COMPUTE_MS: 420.0 - 30.0 * wave,
        names.COMPUTE_MS_P50: 420.0,
        names.DATA_WAIT_MS: 60.0 + 10.0 * wave,
        names.DATA_WAIT_MS_P50: 55.0,
        names.DATA_WAIT_MS_P95: 92.0,
        names.DATA_WAIT_MS_P99: 130.0,
        names.THROUGHPUT_EFFICIENCY: 0.88,
        names.DATA_BOUND: 0.0,
        names.DATA_BOUND_THRESHOLD: 0.3,
        names.TRAIN_LOSS: 2.5 * math.exp(-step / 25.0) + 0.3 + 0.05 * wave,
        names.LR: 1e-3 * (1.0 - step / 100.0),
    }
    gauges = {
        names.CPU_PERCENT: 55.0 + 10.0 * wave,
        names.RAM_USED_BYTES: 6.2e9,
        names.RAM_TOTAL_BYTES: 16.0e9,
        names.RAM_PERCENT: 38.75,
        names.PROC_PSS_BYTES: 1.4e9 + step * 1e6,
        names.PROC_RSS_BYTES: 3.1e9 + step * 1e6,
        names.DISK_READ_BPS: 12.5e6,
        names.DISK_WRITE_BPS: 0.8e6,
        names.gpu(0, "util"): 87.0 + 5.0 * wave,
        names.gpu(0, "mem_used_bytes"): 5.5e9,
        names.gpu(0, "mem_total_bytes"): 24.0e9,
        names.gpu(0, "temp_c"): 64.0,
        names.gpu(0, "power_w"): 182.0,
    }
    for core in range(cores):
        gauges[names.cpu_core(core)] = 40.0 + 12.0 * core + 5.0 * wave
    return perf, gauges


def make_stream(
    steps: int = 45, finish: bool = False, builder: StreamBuilder | None = None, t0: float = T0
) -> list[dict[str, Any]]:
    """A recorded stream of ``steps`` training steps (0.5 s apart), optionally with the end."""
    b = builder or StreamBuilder()
    out = [b.hello(t0)]
    total = STEPS_PER_EPOCH * EPOCHS
    out.append(
        b.msg(
            "status",
            t0 + 0.1,
            {
                "status": "setup",
                "experiment_name": "synthetic_debug",
                "arch": "dbnet",
                "max_epochs": EPOCHS,
                "total_steps": total,
            },
        )
    )
    out.append(
        b.msg(
            "log",
            t0 + 0.2,
            {
                "level": "INFO",
                "logger": "ocr.train",
                "message": "dataset: 160 train / 40 val images",
            },
        )
    )
    out.append(b.msg("status", t0 + 1.0, {"status": "train"}, 0, 0))
    for step in range(steps):
        t, epoch = t0 + 2.0 + step * 0.5, step // STEPS_PER_EPOCH
        perf, gauges = step_metrics(step)
        batch = step % STEPS_PER_EPOCH
        out.append(
            b.msg(
                "progress",
                t,
                {
                    "epoch": epoch,
                    "step": step + 1,
                    "batch_idx": batch,
                    "num_batches": STEPS_PER_EPOCH,
                    "max_epochs": EPOCHS,
                    "total_steps": total,
                },
                step + 1,
                epoch,
            )
        )
        out.append(b.msg("metrics", t, {"values": perf}, step + 1, epoch))
        if step % 2 == 0:
            out.append(b.msg("metrics", t + 0.01, {"values": gauges}, step + 1, epoch))
        if step == 8:
            out.append(
                b.msg(
                    "alert",
                    t,
                    {
                        "code": "DATA_WAIT_HIGH",
                        "severity": "warning",
                        "state": "firing",
                        "message": "data wait p95 92 ms is 18% of step time",
                        "values": {"data_wait_ms_p95": 92.0},
                        "hint": "raise data.num_workers",
                    },
                )
            )
        if step == 30:
            out.append(
                b.msg(
                    "alert",
                    t,
                    {
                        "code": "DATA_WAIT_HIGH",
                        "severity": "warning",
                        "state": "cleared",
                        "message": "data wait back below 10% of step time",
                        "values": {},
                        "hint": "",
                    },
                )
            )
        if batch == STEPS_PER_EPOCH - 1:
            hmean = 0.2 + 0.25 * epoch
            out.append(b.msg("status", t + 0.1, {"status": "validate"}, step + 1, epoch))
            out.append(
                b.msg(
                    "metrics",
                    t + 0.3,
                    {
                        "values": {
                            names.VAL_HMEAN: hmean,
                            names.VAL_PRECISION: hmean + 0.05,
                            names.VAL_RECALL: hmean - 0.05,
                            names.VAL_LOSS: 1.2 - 0.3 * epoch,
                        }
                    },
                    step + 1,
                    epoch,
                )
            )
            out.append(
                b.msg(
                    "log",
                    t + 0.3,
                    {
                        "level": "INFO",
                        "logger": "ocrtop.ocr.lightning",
                        "message": f"epoch {epoch}: val/hmean={hmean:.3f}",
                    },
                )
            )
            out.append(b.msg("status", t + 0.4, {"status": "train"}, step + 1, epoch + 1))
    if finish:
        t = t0 + 2.0 + steps * 0.5
        out.append(b.msg("status", t, {"status": "done", "exit_code": 0}, steps, EPOCHS - 1))
    return out
