"""What each feed says it can do, and what a feed without a capability does when asked."""

from __future__ import annotations

from ocrtop.tui.core.events import CommandFailed, FeedEvent
from ocrtop.tui.core.feeds.base import Capabilities, Feed, FeedBase
from ocrtop.tui.core.feeds.live import LiveFeed
from ocrtop.tui.core.feeds.replay import ReplayFeed
from ocrtop.tui.core.state import AppState


def test_each_feed_declares_its_capabilities() -> None:
    live = LiveFeed(AppState(), lambda e: None, target="job")
    readonly = LiveFeed(AppState(readonly=True), lambda e: None, target="job")
    replay = ReplayFeed(AppState(readonly=True), lambda e: None, run_dir=".")
    assert live.capabilities == Capabilities(live=True, commands=True)
    assert readonly.capabilities == Capabilities(live=True, commands=False)
    assert replay.capabilities == Capabilities(playback=True)
    feeds: list[Feed] = [live, readonly, replay]  # all three satisfy the protocol (mypy)
    assert not any(f.done for f in feeds)  # nothing delivered before run()


async def test_a_feed_without_commands_refuses_them_out_loud() -> None:
    posted: list[FeedEvent] = []
    feed = FeedBase(posted.append)
    assert await feed.send("profile", steps=5) == []
    assert posted == [CommandFailed("profile", "this feed sends no commands")]


def test_choose_sets_what_the_feed_follows() -> None:
    live = LiveFeed(AppState(), lambda e: None)
    live.choose("bbb")
    replay = ReplayFeed(AppState(), lambda e: None)
    replay.choose("outputs/run")
    assert live.target == "bbb" and str(replay.run_dir) == "outputs/run"


def test_queued_events_collapse_by_their_own_rule() -> None:
    from ocrtop.tui.core.events import ConnectionChanged, JobFinished, SnapshotLoaded

    assert ConnectionChanged("s", "live").replaces(ConnectionChanged("s", "connecting"))
    assert not ConnectionChanged("s", "live").replaces(ConnectionChanged("t", "connecting"))
    assert SnapshotLoaded("a").replaces(SnapshotLoaded("b"))
    assert JobFinished("j").replaces(JobFinished("j")) and not JobFinished("j").replaces(
        JobFinished("k")
    )
    assert not CommandFailed("p", "x").replaces(CommandFailed("p", "x"))  # each is reported
