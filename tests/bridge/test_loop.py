"""The selector loop: handlers get their masks, wake and the doorbell cut a sleep short."""

from __future__ import annotations

import socket
import threading
import time

from ocrtop.bridge.loop import READ, SelectorLoop


def test_listeners_accept_and_sockets_dispatch_to_their_handlers() -> None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(f"\0ocrtop-test-loop-{id(listener)}")
    listener.listen(4)
    accepted: list[str] = []
    loop = SelectorLoop([(listener, "unix")], lambda sock, kind: accepted.append(kind))
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(listener.getsockname())
    loop.poll(2.0)
    assert accepted == ["unix"]
    a, b = socket.socketpair()
    masks: list[int] = []
    loop.register(a, READ, masks.append)
    b.send(b"x")
    loop.poll(2.0)
    assert masks == [READ]
    loop.set_interest(a, 0, masks.append)  # unwatched: no more calls
    b.send(b"y")
    loop.poll(0.05)
    assert masks == [READ]
    for s in (a, b, client, listener.accept()[0]):
        s.close()
    loop.close()
    loop.close_wakeup()


def test_ring_and_wake_end_a_long_sleep_from_another_thread() -> None:
    loop = SelectorLoop([], lambda sock, kind: None)
    for poke in (loop.wake, loop.ring):
        loop.doorbell_armed = True
        timer = threading.Timer(0.05, poke)
        timer.start()
        t0 = time.monotonic()
        loop.poll(30.0)
        assert time.monotonic() - t0 < 10.0
        assert not loop.doorbell_armed  # a poll always disarms it
        timer.join()
    loop.close()
    loop.close_wakeup()
    loop.wake()  # after close: a no-op, never an error
