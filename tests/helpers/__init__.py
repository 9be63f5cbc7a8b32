"""Shared test helpers, imported as ``tests.helpers.<module>``.

pytest runs with ``--import-mode=importlib`` and the repository root on ``sys.path``
(``pythonpath = ["."]`` in ``pyproject.toml``), so test files may share basenames across
folders (``tests/bridge/test_cli.py``, ``tests/tui/test_cli.py``) and import helpers by their
package path instead of relying on a folder being on ``sys.path``.
"""
