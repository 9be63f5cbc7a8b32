"""Each architecture learns: it overfits two synthetic pages to a high hmean.

The project's own train path (:func:`ocr.lightning.train.train` on the composed Hydra
config) fits two 160 px pages of ``ocr/data/synthetic.py`` (7 words) for 150 steps with no
augmentation, then validates on the same two pages. An untrained detector scores 0 there
(so does one after 25 steps); a broken loss, target builder, post-processor or metric
keeps it far below the bars, which sit under the hmeans measured on this 2-core machine
(see the table) with margin for run-to-run noise. One thread: on a loaded box, OpenMP's
spinning threads cost more than they help.

Measured (val hmean after 150 steps, ICDAR / CLEval; three runs each, load 8-14):
see ``BARS`` below and the report in BENCHMARKS.md's "Learning" section.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf, open_dict

from bridge import names
from ocr.lightning.train import train

pytestmark = [pytest.mark.slow, pytest.mark.e2e]

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
PAGES, SIZE, STEPS = 2, 160, 150
OVERFIT = [
    "data.num_workers=0",
    "data.persistent_workers=false",
    f"data.batch_size={PAGES}",  # one step per epoch: the whole set
    f"data.eval_batch_size={PAGES}",
    f"data.train.source.num={PAGES}",
    f"data.train.source.width={SIZE}",
    f"data.train.source.height={SIZE}",
    f"data.train.transform.size={SIZE}",
    "+data.train.cache_images=true",
    "data.train.transform.min_scale=1.0",  # no augmentation: the same pixels every step
    "data.train.transform.max_scale=1.0",
    "data.train.transform.max_degrees=0.0",
    "+data.train.transform.color_p=0.0",
    f"data.val.source.num={PAGES}",
    "data.val.source.seed=${seed}",  # validate on the training pages themselves
    "+data.val.cache_images=true",
    "model/scheduler=constant",
    "model.optimizer.lr=0.01",
    f"trainer.max_epochs={STEPS}",
    f"trainer.check_val_every_n_epoch={STEPS}",  # validate once, at the end
    "trainer.accelerator=cpu",
    "trainer.enable_progress_bar=false",
    "trainer.enable_model_summary=false",
    "+trainer.enable_checkpointing=false",
    "trainer.log_every_n_steps=50",
    "test_after_fit=false",
    "~callbacks",
]

BARS = {"dbnet": 0.7, "dbnetpp": 0.7, "craft": 0.7}
"""Minimum val hmean (ICDAR 2015) after the overfit; CLEval must clear the same bar."""


@pytest.fixture
def one_thread() -> Iterator[None]:
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _config(arch: str, out: Path):
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        cfg = compose(config_name="train", overrides=[f"model/architectures={arch}", *OVERFIT])
    with open_dict(cfg):
        cfg.paths.output_dir = str(out)
    OmegaConf.resolve(cfg)
    return cfg


@pytest.mark.parametrize("arch", sorted(BARS))
def test_overfits_two_pages(arch: str, tmp_path: Path, one_thread: None) -> None:
    summary = train(_config(arch, tmp_path))
    with (tmp_path / "csv" / "metrics.csv").open() as fh:
        rows = [r for r in csv.DictReader(fh) if r.get(names.VAL_HMEAN)]
    assert len(rows) == 1, "validated once, after the last step"
    hmean, cleval = float(rows[0][names.VAL_HMEAN]), float(rows[0][names.VAL_CLEVAL_HMEAN])
    print(f"{arch}: val/hmean {hmean:.3f}  val/cleval_hmean {cleval:.3f}")
    assert summary["global_step"] == STEPS
    assert hmean == pytest.approx(summary["best_val_hmean"])
    assert hmean >= BARS[arch], f"{arch} did not learn: val/hmean {hmean:.3f} < {BARS[arch]}"
    assert cleval >= BARS[arch], f"{arch}: val/cleval_hmean {cleval:.3f} < {BARS[arch]}"
