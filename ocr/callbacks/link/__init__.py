"""The bridge link: how the monitors reach ``bridge/`` without knowing who owns it.

``bridge_link`` is the handle (publisher lookup, command routing), ``emit`` publishing
and logging that never raise into training, ``commands`` the command router and the
``stop`` handler, ``log_handler`` Python log records as bridge messages, ``console``
the stderr fallback for scripts without logging, ``linger`` the deferred close between
stages, ``outcome`` how a run ended (the final ``status`` payload and exit code).
"""

from ocrtop.ocr.callbacks.link.bridge_link import BridgeLink, publisher_of

__all__ = ["BridgeLink", "publisher_of"]
