"""``experiment=docs``: document resolution, small text, no downloads; predict takes it too."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.utils import instantiate
from omegaconf import DictConfig

from ocrtop.ocr.data.transforms import RandomCrop

CONFIGS = Path(__file__).resolve().parents[2] / "configs"


def compose_cfg(overrides: list[str], name: str = "train") -> DictConfig:
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONFIGS), version_base="1.3"):
        return compose(config_name=name, overrides=overrides)


def test_docs_preset_trains_at_document_resolution() -> None:
    cfg = compose_cfg(["experiment=docs", "data.root=somewhere"])
    assert cfg.experiment_name == "docs"
    assert 960 <= cfg.data.val.transform.size <= 1280
    assert cfg.data.test.transform.size == cfg.data.val.transform.size
    assert cfg.data.train.source.root == "somewhere"
    assert cfg.model.net.backbone.pretrained is False
    assert cfg.data.targets.min_text_size < 8  # the default drops 10 pt text in crops
    assert cfg.model.postprocess.max_candidates >= 3000
    train = instantiate(cfg.data.train.transform)
    crops = [op for op in train.ops if isinstance(op, RandomCrop)]
    assert crops and crops[0].size < cfg.data.val.transform.size  # crops of the page


def test_predict_accepts_the_docs_preset() -> None:
    cfg = compose_cfg(
        ["experiment=docs", "ckpt_path=x.ckpt", "input_dir=imgs", "submission=true"],
        name="predict",
    )
    assert cfg.data.val.transform.size == 960
    assert cfg.model.postprocess.box_thresh == 0.3 and cfg.submission is True
