"""The vocabulary: aliases keep old recordings readable, and nobody spells a name twice."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ocrtop.bridge import names

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("ocr", "tui", "bridge", "ocrtop", "runners")
"""Producers and consumers on both sides of the bridge."""


def vocabulary() -> dict[str, str]:
    """Every string ``bridge/names.py`` defines once: metric names and alert codes."""
    out: dict[str, str] = {}
    for attr, value in vars(names).items():
        if (
            attr.isupper()
            and isinstance(value, str)
            and ("/" in value or attr.startswith("ALERT_"))
        ):
            out[value] = attr
    return out


def docstrings(tree: ast.AST) -> set[int]:
    """ids of the string nodes that are docstrings (module, class, function, attribute)."""
    ids: set[int] = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if not isinstance(body, list):
            continue
        for stmt in body:
            if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
                ids.add(id(stmt.value))
    return ids


def literals(path: Path, vocab: dict[str, str], root: Path = ROOT) -> list[str]:
    """``file:line: 'name' (use names.X)`` for each literal spelling of a vocabulary string."""
    tree = ast.parse(path.read_text(), filename=str(path))
    skip = docstrings(tree)
    found = []
    for node in ast.walk(tree):
        text = node.value if isinstance(node, ast.Constant) else None
        if isinstance(text, str) and text in vocab and id(node) not in skip:
            rel = path.relative_to(root)
            found.append(f"{rel}:{node.lineno}: {text!r} (use names.{vocab[text]})")
    return found


def scan(roots: tuple[str, ...] = SCANNED, base: Path = ROOT) -> list[str]:
    vocab = vocabulary()
    found: list[str] = []
    for root in roots:
        for path in sorted((base / root).rglob("*.py")):
            if path != base / "bridge" / "names.py":
                found += literals(path, vocab, base)
    return found


def test_no_producer_or_consumer_spells_a_name_as_a_literal() -> None:
    found = scan()
    assert not found, "spelled as literals:\n" + "\n".join(found)


def test_the_scan_sees_a_reintroduced_literal(tmp_path: Path) -> None:
    (tmp_path / "tui").mkdir()
    probe = 'def loss(latest):\n    """train/loss in a docstring is fine."""\n'
    probe += '    return latest["train/loss"], latest[names.LR], "stalled"\n'
    (tmp_path / "tui" / "probe.py").write_text(probe)
    assert sorted(scan(("tui",), tmp_path)) == [
        "tui/probe.py:3: 'stalled' (use names.ALERT_STALLED)",
        "tui/probe.py:3: 'train/loss' (use names.TRAIN_LOSS)",
    ]


def test_an_old_stream_reads_under_todays_names() -> None:
    old = {"lr": 1e-3, "perf/images_per_second": 12.0, names.TRAIN_LOSS: 0.5}
    assert names.canonical(old) == {
        names.LR: 1e-3,
        names.SAMPLES_PER_SECOND: 12.0,
        names.TRAIN_LOSS: 0.5,
    }
    both = {"lr": 1.0, names.LR: 2.0}  # the new name wins when a stream has both
    assert names.canonical(both) == {names.LR: 2.0}
    current = {names.LR: 1.0, names.SAMPLES_PER_SECOND: 3.0}
    assert names.canonical(current) is current  # no copy on the ingest path
    assert names.LR == "train/lr" and names.ALIASES["lr"] == names.LR


def test_the_ddp_rank_parser_reads_what_the_builder_writes() -> None:
    assert names.parse_ddp_rank(names.ddp_rank(3, "step_ms")) == (3, "step_ms")
    assert names.parse_ddp_rank(names.ddp_stat("step_ms", "max")) is None


@pytest.mark.parametrize("code", names.ALERT_CODES)
def test_alert_codes_are_distinct_identifiers(code: str) -> None:
    assert code.isidentifier() and names.ALERT_CODES.count(code) == 1
