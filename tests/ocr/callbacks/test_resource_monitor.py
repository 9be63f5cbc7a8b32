"""Resource sampling, its CSV time series, and the callback in a real loop (fake NVML)."""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

import pytest

from ocrtop.bridge import names
from ocrtop.ocr.callbacks.resource_monitor import ResourceMonitorCallback
from ocrtop.ocr.callbacks.sampling.process_tree import process_tree_memory
from ocrtop.ocr.callbacks.sampling.resource_csv import ResourceCsv, resource_columns
from ocrtop.ocr.callbacks.sampling.system import BackgroundSampler, SystemSampler
from tests.helpers.fake_nvml import fake_pynvml
from tests.helpers.toy_training import ToyModule, loader, make_trainer


def read_csv(path: Path) -> list[list[str]]:
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def test_columns_are_stable_and_rows_match_the_header(tmp_path: Path) -> None:
    cols = resource_columns(num_cores=2, gpu_ids=[0])
    assert cols[:4] == ["time", "elapsed_s", "step", "epoch"]
    assert names.cpu_core(1) in cols and names.gpu(0, "throttle") in cols
    assert cols == resource_columns(num_cores=2, gpu_ids=[0])
    out = ResourceCsv(tmp_path, cols)
    out.write(time.time(), 3, 0, {names.CPU_PERCENT: 12.5, "unknown/key": 1.0})
    out.write(time.time(), None, None, {})
    out.close()
    rows = read_csv(out.path)
    assert rows[0] == cols and all(len(r) == len(cols) for r in rows)
    assert rows[1][cols.index(names.CPU_PERCENT)] == "12.5" and rows[1][2] == "3"
    assert rows[2][cols.index(names.CPU_PERCENT)] == ""


def test_each_run_gets_a_new_file(tmp_path: Path) -> None:
    first = ResourceCsv(tmp_path, ["time", "elapsed_s", "step", "epoch"])
    first.write(time.time(), 1, 0, {})
    first.close()
    second = ResourceCsv(tmp_path, ["time", "elapsed_s", "step", "epoch"])
    second.close()
    assert first.path != second.path
    assert len(read_csv(first.path)) == 2 and len(read_csv(second.path)) == 1


def test_system_sample_has_cpu_memory_process_and_disk_rates() -> None:
    sampler = SystemSampler()
    first = sampler.sample()
    time.sleep(0.05)
    second = sampler.sample()
    for key in (
        names.CPU_PERCENT,
        names.cpu_core(0),
        names.RAM_USED_BYTES,
        names.RAM_TOTAL_BYTES,
        names.RAM_PERCENT,
        names.PROC_RSS_BYTES,
        names.PROC_RSS_PEAK_BYTES,
    ):
        assert key in second, key
    assert names.DISK_READ_BPS not in first  # a rate needs two samples
    if sys.platform == "linux":
        assert second[names.DISK_READ_BPS] >= 0 and second[names.DISK_WRITE_BPS] >= 0
        assert names.CPU_IOWAIT in second
        # PSS is read on the first sample and carried by the next (pss_interval_s)
        assert 0 < second[names.PROC_PSS_BYTES] <= second[names.PROC_RSS_BYTES]
        assert second[names.PROC_PSS_PEAK_BYTES] >= second[names.PROC_PSS_BYTES]
        assert names.WORKERS_USS_BYTES in second
    assert second[names.PROC_RSS_PEAK_BYTES] >= second[names.PROC_RSS_BYTES] > 0
    rss, procs = process_tree_memory()
    assert rss > 0 and procs >= 1


def test_background_sampler_keeps_sampling_when_a_listener_fails() -> None:
    calls: list[float] = []

    def broken(t: float, sample: dict[str, float]) -> None:
        raise OSError("disk full")

    sampler = BackgroundSampler(lambda: {"x": 1.0}, 0.01, [broken, lambda t, s: calls.append(t)])
    sampler.start()
    deadline = time.time() + 5
    while len(calls) < 3 and time.time() < deadline:
        time.sleep(0.01)
    sampler.stop()
    assert len(calls) >= 3 and sampler.latest == {"x": 1.0}


@pytest.mark.slow
def test_callback_writes_csv_and_logs_sys_and_gpu_metrics(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(count=1))
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)
    cb = ResourceMonitorCallback(interval_s=0.05, every_n_steps=2, run_dir=str(tmp_path))
    trainer = make_trainer(tmp_path, [cb])
    trainer.fit(ToyModule(), train_dataloaders=loader(n=64, batch_size=4, sleep_ms=10.0))
    (path,) = (tmp_path / "resource_logs").glob("*.csv")
    assert path.name.endswith("_fit_rank0.csv")
    rows = read_csv(path)
    header, body = rows[0], rows[1:]
    assert len(body) >= 3
    util = [r[header.index(names.gpu(0, "util"))] for r in body]
    assert set(util) == {"10.0"}
    assert any(r[header.index("step")] not in ("", "0") for r in body)
    if sys.platform == "linux":  # every row carries the latest PSS reading
        assert all(float(r[header.index(names.PROC_PSS_BYTES)]) > 0 for r in body)
    with open(Path(str(trainer.log_dir)) / "metrics.csv") as fh:
        logged = next(csv.reader(fh))
    assert names.CPU_PERCENT in logged and names.gpu(0, "util") in logged
    assert cb._sampler is None  # stopped at teardown
