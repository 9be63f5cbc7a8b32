"""The view: which job and rank are on screen, the history window, following the newest."""

from __future__ import annotations

from ocrtop.tui.core.view import WINDOWS, ViewState


def test_window_cycles_through_every_span_and_wraps() -> None:
    view = ViewState()
    seen = [view.window_s]
    for _ in WINDOWS:
        view.cycle_window()
        seen.append(view.window_s)
    assert seen == [*WINDOWS, WINDOWS[0]]


def test_following_shows_new_jobs_until_an_older_one_is_picked() -> None:
    view, keys = ViewState(), ["a", "b", "c"]
    for key in keys:
        view.job_added(key)
    assert view.current == "c" and view.follow
    view.rank_view = 1
    view.cycle_job(keys, -1)
    assert (view.current, view.follow, view.rank_view) == ("b", False, None)
    view.job_added("d")  # not following: the picked job keeps the screen
    assert view.current == "b"
    view.show_job([*keys, "d"], "d")
    assert view.current == "d" and view.follow


def test_rank_view_steps_through_the_ranks_then_back_to_merged() -> None:
    view = ViewState()
    order = []
    for _ in range(4):
        view.cycle_rank([0, 1, 2])
        order.append(view.rank_view)
    assert order == [0, 1, 2, None]
    view.cycle_rank([0])  # a single rank has no per-rank view
    assert view.rank_view is None
