"""The dashboard's verdict is the trainer's: its flag, window statistic and threshold."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge import names
from ocr.callbacks.throughput_monitor import ThroughputMonitorCallback
from tests.helpers.toy_training import ToyModule, loader, make_trainer
from tui.core import derive
from tui.core.state import AppState


@pytest.mark.slow
def test_a_slow_loader_reads_data_bound_against_the_configured_threshold(tmp_path: Path) -> None:
    cb = ThroughputMonitorCallback(window_steps=8, data_bound_threshold=0.25)
    trainer = make_trainer(tmp_path, [cb], max_steps=10)
    trainer.fit(ToyModule(), train_dataloaders=loader(n=40, batch_size=4, batch_sleep_ms=40.0))
    values = cb.latest_values()
    assert values[names.DATA_BOUND_THRESHOLD] == 0.25
    assert "perf/images_per_second" not in values  # it only repeated samples/s
    share = 1.0 - values[names.THROUGHPUT_EFFICIENCY]
    assert values[names.DATA_BOUND] == float(share > 0.25) == 1.0
    state = AppState()
    hello = {"protocol": 1, "job_id": "j", "rank": 0, "world_size": 1, "pid": 1}
    state.ingest({"type": "hello", "t": 1.0, "seq": 1, "payload": hello}, "s0")
    state.ingest(
        {"type": "metrics", "t": 2.0, "seq": 2, "step": 10, "payload": {"values": values}}, "s0"
    )
    assert state.rank is not None
    verdict = derive.verdict(state.rank)
    assert verdict is not None and verdict.label == "data-bound"
    assert verdict.reason == f"data wait {share:.0%} of step time (> 25% threshold)"
