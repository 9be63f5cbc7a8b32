"""ocrtop's records reach stderr when, and only when, the script set up no logging."""

from __future__ import annotations

import logging

import pytest

from ocrtop.ocr.callbacks.link.console import ConsoleFallbackHandler, install_console_fallback
from ocrtop.ocr.callbacks.link.log_handler import BridgeLogHandler


@pytest.fixture
def bare_logging(monkeypatch: pytest.MonkeyPatch):
    """A process without logging setup: call the returned function first in the test body
    (pytest attaches its capture handler to the root logger after fixtures ran)."""
    root = logging.getLogger()
    logger = logging.getLogger("ocrtop.ocr.callbacks")
    monkeypatch.setattr(logger, "handlers", [])
    monkeypatch.setattr(logger, "level", logging.NOTSET)

    def strip() -> logging.Logger:
        monkeypatch.setattr(root, "handlers", [])
        return root

    return strip


def test_info_records_reach_stderr_without_user_logging(bare_logging, capsys) -> None:
    root = bare_logging()
    handler = install_console_fallback()
    assert install_console_fallback() is handler  # once
    root.addHandler(BridgeLogHandler(publisher=None))  # ours: does not count
    logging.getLogger("ocrtop.ocr.callbacks.alerts").info("data_bound firing: raise num_workers")
    err = capsys.readouterr().err
    assert "[ocrtop] INFO ocrtop.ocr.callbacks.alerts: data_bound firing" in err


def test_a_script_with_logging_gets_each_record_once(bare_logging, capsys) -> None:
    root = bare_logging()
    install_console_fallback()
    user = logging.StreamHandler()  # basicConfig's handler, bound to stderr now
    root.addHandler(user)
    logging.getLogger("ocrtop.ocr.callbacks.profiler").warning("profile window finished")
    err = capsys.readouterr().err
    assert err.count("profile window finished") == 1 and "[ocrtop]" not in err


def test_a_level_set_by_the_user_is_kept(bare_logging, capsys) -> None:
    bare_logging()
    logging.getLogger("ocrtop.ocr.callbacks").setLevel(logging.WARNING)
    install_console_fallback()
    logging.getLogger("ocrtop.ocr.callbacks.alerts").info("quiet please")
    assert "quiet please" not in capsys.readouterr().err
    assert any(
        isinstance(h, ConsoleFallbackHandler)
        for h in logging.getLogger("ocrtop.ocr.callbacks").handlers
    )
