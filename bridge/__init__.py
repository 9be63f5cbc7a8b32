"""The bridge: a non-blocking stream from a training job to its viewers.

Training side: ``ocrtop.bridge.publisher.Publisher`` (the hot-path queue; ``start()`` returns the
``Endpoint``), served by one thread, ``ocrtop.bridge.server``, that composes the selector loop
(``ocrtop.bridge.loop``), the event pump (``ocrtop.bridge.pump``) and one session per viewer
(``ocrtop.bridge.session``). Viewer side: ``ocrtop.bridge.client.BridgeClient``
and ``ocrtop.bridge.eventlog.read_events``. Discovery: ``ocrtop.bridge.registry``. The wire format
is described in ``bridge/PROTOCOL.md``. Only the standard library is imported here (psutil,
when installed, to tell a live job from a recycled pid), never torch or textual.
"""
