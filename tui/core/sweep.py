"""The sweep table as text: one line per job of a Hydra multirun.

Shared by the dashboard's sweep screen (``s``) and the headless printer, so both show the
same columns: job index, overrides, status, best val/hmean, samples/s, duration.
"""

from __future__ import annotations

from ocrtop.tui.core.derive import SweepRow
from ocrtop.tui.core.fmt import duration, num

HEADER = "  job  status    best hmean  samples/s  duration  overrides"


def format_row(row: SweepRow, current: bool = False) -> str:
    """``▶   1  train         0.412       12.3   0:01:05  model/architectures=craft``."""
    hmean = "—" if row.best_hmean is None else f"{row.best_hmean:.3f}"
    return (
        f"{'▶' if current else ' '} {row.index:>3}  {row.status:<8}  {hmean:>10}  "
        f"{num(row.samples_per_s):>9}  {duration(row.duration_s):>8}  {row.overrides}"
    )


def table_lines(rows: list[SweepRow], current: str | None) -> list[str]:
    """Header plus one line per job; ``current`` (a job key) gets the marker."""
    return [HEADER, *(format_row(r, r.key == current) for r in rows)]
