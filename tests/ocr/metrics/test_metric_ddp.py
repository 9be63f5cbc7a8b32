"""DetectionMetric and CLEvalMetric under real DDP state sync (two gloo processes, CPU)."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from ocrtop.ocr.metrics import CLEvalMetric, DetectionMetric
from ocrtop.ocr.types import Prediction


def _box(y: float) -> np.ndarray:
    return np.array([[0, y], [100, y], [100, y + 20], [0, y + 20]], dtype=np.float64)


def _rank_data(rank: int) -> tuple[list[list[Prediction]], list[list[np.ndarray]]]:
    if rank == 0:  # one image, one word, found
        return [[Prediction(_box(0), 0.9)]], [[_box(0)]]
    many = [_box(30 * i) for i in range(9)]  # one image, nine words, one found
    return [[Prediction(many[0], 0.9)]], [many]


def _worker(rank: int, port: int, out: str) -> None:
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    try:
        preds, gts = _rank_data(rank)
        result = {}
        for name, metric in (("icdar", DetectionMetric()), ("cleval", CLEvalMetric())):
            metric.update(preds, gts, [[False] * len(g) for g in gts])
            result[name] = {k: float(v) for k, v in metric.compute().items()}
        Path(out, f"rank{rank}.json").write_text(json.dumps(result))
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_ranks_agree_on_the_global_score(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    torch.set_num_threads(1)
    mp.spawn(_worker, args=(port, str(tmp_path)), nprocs=2, join=True)
    results = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in (0, 1)]
    # 2 matches / 10 GT / 2 predictions over both ranks; each rank alone would differ.
    # CLEval (no texts: 5 estimated characters per 100x20 word): 10 of 50 found, no false
    # positive character -> the same P, R and H.
    for result in results:
        for name in ("icdar", "cleval"):
            assert result[name] == pytest.approx({"precision": 1.0, "recall": 0.2, "hmean": 1 / 3})
