"""Resources panel: per-core CPU bars, RAM, process-tree PSS, disk I/O and one row per GPU.

Cores are packed several per line so that a 64-core box still fits a 24-line terminal.
"""

from __future__ import annotations

from collections.abc import Hashable

from rich.console import Group, RenderableType
from rich.text import Text

from ocrtop.bridge import names
from ocrtop.tui.core import derive
from ocrtop.tui.core.charts import bar
from ocrtop.tui.core.fmt import human_bytes, num
from ocrtop.tui.core.state import AppState, RankState
from ocrtop.tui.widgets.panel import Panel


def _load_style(percent: float | None) -> str:
    if percent is None:
        return "dim"
    return "red" if percent >= 90 else "yellow" if percent >= 70 else "green"


def cpu_lines(rank: RankState, width: int, max_lines: int) -> list[Text]:
    """Per-core bars packed into at most ``max_lines`` lines of ``width`` cells."""
    cores = derive.cpu_cores(rank)
    if not cores:
        total = rank.value(names.CPU_PERCENT)
        return [
            Text(
                f"cpu {bar((total or 0) / 100, max(4, width - 10))} {num(total, 0)}%",
                style=_load_style(total),
            )
        ]
    per_line = max(1, -(-len(cores) // max(1, max_lines)))
    cell = max(6, width // per_line)
    bar_w = max(2, cell - 7)
    lines = []
    for start in range(0, len(cores), per_line):
        text = Text()
        for i, pct in enumerate(cores[start : start + per_line], start):
            text.append(f"{i:>2}", style="dim")
            text.append(bar(pct / 100, bar_w), style=_load_style(pct))
            text.append(f"{pct:>3.0f} ")
        lines.append(text)
    return lines


def gpu_line(rank: RankState, i: int, width: int) -> Text:
    """``gpu0 ███▌   87% 5.5G/24.0G 64°C 182W``."""
    util = rank.value(names.gpu(i, "util"))
    used, total = (
        rank.value(names.gpu(i, "mem_used_bytes")),
        rank.value(names.gpu(i, "mem_total_bytes")),
    )
    temp, power = rank.value(names.gpu(i, "temp_c")), rank.value(names.gpu(i, "power_w"))
    text = Text(f"gpu{i} ")
    text.append(
        bar(None if util is None else util / 100, max(4, width - 36)), style=_load_style(util)
    )
    text.append(
        f" {num(util, 0):>3}% {human_bytes(used)}/{human_bytes(total)}"
        f" {num(temp, 0)}°C {num(power, 0)}W"
    )
    return text


class ResourcesPanel(Panel):
    """CPU, memory, disk and GPU gauges of the training process's machine."""

    TITLE = "Resources"
    KEY = "2"
    MIN_INTERVAL = 0.5

    def signature(self, state: AppState) -> Hashable:
        """Gauges arrive about once a second, not with every step."""
        rank = state.rank
        if rank is None:
            return state.view_key()
        marks = (names.CPU_PERCENT, names.RAM_USED_BYTES, names.gpu(0, "util"), names.cpu_core(0))
        return (state.view_key(), tuple(rank.latest.get(n) for n in marks))

    def render_state(self, state: AppState, width: int, height: int) -> RenderableType:
        """See the module docstring."""
        rank = state.rank
        if rank is None or not any(n.startswith(("sys/", "gpu")) for n in rank.latest):
            return Text("waiting for resource samples…", style="dim")
        gpus = derive.gpu_indices(rank)
        lines: list[RenderableType] = [*cpu_lines(rank, width, max(1, height - 2 - len(gpus)))]
        used, total = rank.value(names.RAM_USED_BYTES), rank.value(names.RAM_TOTAL_BYTES)
        ram = Text("ram ")
        frac = used / total if used is not None and total else None
        ram.append(
            bar(frac, max(4, width - 30)), style=_load_style(None if frac is None else frac * 100)
        )
        ram.append(f" {human_bytes(used)}/{human_bytes(total)}")
        label, held = derive.host_memory(rank)
        ram.append(f"  {label} {human_bytes(held)}", style="bold")
        disk = Text(
            f"disk r {human_bytes(rank.value(names.DISK_READ_BPS))}/s"
            f"  w {human_bytes(rank.value(names.DISK_WRITE_BPS))}/s"
        )
        iowait = rank.value(names.CPU_IOWAIT)
        if iowait is not None:
            disk.append(f"  iowait {num(iowait, 0)}%", style="yellow" if iowait > 10 else "")
        lines += [ram, disk]
        lines += [gpu_line(rank, i, width) for i in gpus]
        if not gpus:
            lines.append(Text("no GPU reported", style="dim"))
        return Group(*lines)
