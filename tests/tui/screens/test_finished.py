"""The job-finished dialog: the reason is shown whole, and the dialog scrolls."""

from __future__ import annotations

from textual.containers import VerticalScroll

from ocrtop.tui.screens.finished import JobFinishedScreen
from tests.helpers.streams import T0
from tests.helpers.tui_harness import Harness, settle

LONG_PATH = "/data/" + "/".join(f"level{i}" for i in range(12)) + "/images/page_0042.png"


async def test_a_failure_dialog_names_the_file_and_scrolls_to_the_end() -> None:
    h = Harness(steps=10, size=(80, 16))  # a small terminal: the text cannot fit
    traceback = "".join(f'  File "ocr/x{i}.py", line {i}, in f\n' for i in range(20))
    payload = {
        "status": "failed",
        "exit_code": 1,
        "error": f"OSError: image file is truncated ({LONG_PATH})",
        "where": LONG_PATH,
        "traceback": traceback + "OSError: image file is truncated",
    }
    async with h.app.run_test(size=h.size) as pilot:
        await settle(pilot)
        h.clients[0].push(h.builder.msg("status", T0 + 20, payload))
        h.clients[0].push(None)
        await settle(pilot)
        screen = h.app.screen
        assert isinstance(screen, JobFinishedScreen)
        assert "finished: failed (exit code 1)" in screen.text
        assert LONG_PATH in screen.text and "ocr/x19.py" in screen.text
        # the reason comes right after the headline: on screen before any scrolling
        assert screen.text.splitlines()[1].endswith(f"({LONG_PATH})[/]")
        scroll = screen.query_one("#finished-scroll", VerticalScroll)
        assert scroll.max_scroll_y > 0
        await pilot.press("end")
        await settle(pilot)
        assert scroll.scroll_y == scroll.max_scroll_y > 0
        await pilot.press("escape")
        assert h.app.screen is h.app.dashboard
