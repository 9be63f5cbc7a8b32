"""The bridge: a non-blocking stream from a training job to its viewers.

Training side: ``bridge.publisher.Publisher`` (the hot-path queue; ``start()`` returns the
``Endpoint``), served by one thread, ``bridge.server``, that composes the selector loop
(``bridge.loop``), the event pump (``bridge.pump``) and one session per viewer
(``bridge.session``). Viewer side: ``bridge.client.BridgeClient``
and ``bridge.eventlog.read_events``. Discovery: ``bridge.registry``. The wire format is
described in ``bridge/PROTOCOL.md``. Only the standard library is imported here (psutil,
when installed, to tell a live job from a recycled pid), never torch or textual.
"""
