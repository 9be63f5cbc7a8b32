"""The exit-code table: one definition, the README's copy of it, and the signal mapping."""

from __future__ import annotations

import re
import signal
from pathlib import Path

from ocrtop.bridge import exitcodes

README = Path(__file__).resolve().parents[2] / "README.md"


def test_a_child_killed_by_signal_n_maps_to_128_plus_n() -> None:
    assert exitcodes.from_returncode(-signal.SIGKILL) == 137
    assert exitcodes.from_returncode(-signal.SIGTERM) == 143
    assert exitcodes.from_returncode(-signal.SIGINT) == 130
    assert exitcodes.from_returncode(3) == exitcodes.STOPPED == 3
    assert exitcodes.from_returncode(0) == 0


def test_describe_names_the_signal_not_a_negative_code() -> None:
    assert exitcodes.describe(-9) == "killed by SIGKILL (exit code 137)"
    assert exitcodes.describe(137) == "killed by SIGKILL (exit code 137)"
    assert exitcodes.describe(130) == "interrupted by SIGINT (exit code 130)"
    assert exitcodes.describe(2) == "bad config or input (exit code 2)"
    assert exitcodes.describe(3) == "stopped on request (exit code 3)"
    assert exitcodes.signal_name(1) is None and exitcodes.signal_name(128) is None


def test_the_readme_table_lists_every_row_of_the_module() -> None:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("### Exit codes") :]
    rows = re.findall(r"^\| (\S+) \| ", section, flags=re.M)
    assert rows[1 : len(exitcodes.TABLE) + 1] == [code for code, _ in exitcodes.TABLE]
