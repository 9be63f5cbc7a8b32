"""Command-line fix-ups applied before Hydra parses ``sys.argv``.

The documented sweep is typed as

    python runners/train.py data=canonical wandb=true -m model/architectures=[dbnetpp,craft,dbnet]

Two things in that line are not what Hydra 1.3 does on its own:

- argparse cannot take a flag *after* positional overrides ("unrecognized arguments"), so
  ``-m`` is moved to the front;
- ``group=[a,b]`` is Hydra's syntax for merging several configs of one group into a single
  job, not a sweep. Architecture configs are whole models that cannot be merged, so in a
  multirun ``model/architectures=[a,b]`` is rewritten to the sweep ``model/architectures=a,b``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

MULTIRUN_FLAGS = ("-m", "--multirun")
SWEEP_LIST_GROUPS = ("model/architectures",)
"""Config groups whose options are mutually exclusive: a list of them means "sweep"."""

_LIST = re.compile(r"^(?P<key>[\w/@.\-]+)=\[(?P<items>[^\[\]]*)\]$")


def multirun_flag_first(argv: Sequence[str]) -> list[str]:
    """Return ``argv`` with ``-m``/``--multirun`` moved right after the program name.

    Everything else keeps its order; an argv without the flag is returned unchanged.
    """
    argv = list(argv)
    if not argv:
        return argv
    flags = [a for a in argv[1:] if a in MULTIRUN_FLAGS]
    if not flags:
        return argv
    rest = [a for a in argv[1:] if a not in MULTIRUN_FLAGS]
    return [argv[0], flags[0], *rest]


def list_to_sweep(override: str, groups: Sequence[str] = SWEEP_LIST_GROUPS) -> str:
    """``model/architectures=[a,b]`` -> ``model/architectures=a,b``; other overrides as is."""
    match = _LIST.match(override)
    if match is None or match["key"] not in groups:
        return override
    items = [item.strip() for item in match["items"].split(",") if item.strip()]
    return f"{match['key']}={','.join(items)}" if items else override


def prepare_argv(argv: Sequence[str]) -> list[str]:
    """Apply both fix-ups; list rewriting happens only in multirun mode."""
    argv = multirun_flag_first(argv)
    if len(argv) < 2 or argv[1] not in MULTIRUN_FLAGS:
        return argv
    return [argv[0], argv[1], *(list_to_sweep(a) for a in argv[2:])]
