"""The overrides of a tiny training job shared by the end-to-end tests.

One short epoch of small synthetic pages on the main process, no test after fit and no
progress bar: what the DDP and sweep tests need to finish in seconds per job. Each test
adds its own batch limit (``+trainer.limit_train_batches=N``) and job-specific overrides.
Shared by ``tests/e2e`` (``from tests.helpers.tiny_run import TINY_RUN``).
"""

from __future__ import annotations

TINY_RUN = [
    "experiment=synthetic_debug",
    "trainer.max_epochs=1",
    "+trainer.limit_val_batches=1",
    "test_after_fit=false",
    "trainer.enable_progress_bar=false",
    "data.num_workers=0",
    "data.persistent_workers=false",
    "data.batch_size=2",
    "data.train.source.width=128",
    "data.train.source.height=128",
    "data.train.transform.size=128",
]
