"""The TUI's core: state, derivations, plain events and the feeds, without Textual.

Headless mode, the benchmarks and the Textual app share this model; nothing under
``ocrtop.tui.core`` imports Textual or the app's screens and widgets (an import-linter
contract in ``pyproject.toml`` and ``tests/tui/test_no_textual.py`` check it).
"""
