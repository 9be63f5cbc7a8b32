"""``init_from=CKPT``: a new run from an earlier run's weights, with fresh trainer state."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from ocrtop.ocr.lightning import train as train_module
from ocrtop.ocr.lightning.train import train


@pytest.mark.slow
def test_init_from_starts_a_fresh_run_from_the_weights(tiny_cfg, monkeypatch) -> None:
    first = train(tiny_cfg("test_after_fit=false"))
    ckpt = Path(first["best_checkpoint"])
    saved = torch.load(ckpt, map_location="cpu", weights_only=False)["state_dict"]
    seen: dict[str, torch.Tensor] = {}
    fit_args: dict[str, object] = {}
    real_build = train_module.build

    def spy_build(cfg, **kwargs):  # record the weights the second run starts from, before fit
        datamodule, model, trainer = real_build(cfg, **kwargs)
        original_fit = trainer.fit

        def fit(model_, **kwargs):
            fit_args.update(kwargs)
            seen.update({k: v.clone() for k, v in model_.state_dict().items()})
            return original_fit(model_, **kwargs)

        trainer.fit = fit
        return datamodule, model, trainer

    monkeypatch.setattr(train_module, "build", spy_build)
    second = train(tiny_cfg("test_after_fit=false", f"init_from={ckpt}"))
    assert all(torch.equal(seen[k], v) for k, v in saved.items())
    assert fit_args["ckpt_path"] is None  # no optimizer, schedule or epoch restored
    assert second["global_step"] == first["global_step"] == 3  # counted from zero again
    with pytest.raises(ValueError, match="not both"):
        train(tiny_cfg("test_after_fit=false", f"init_from={ckpt}", f"ckpt_path={ckpt}"))
