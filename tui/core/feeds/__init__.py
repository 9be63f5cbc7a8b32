"""Where the state's messages come from: a live job, a recorded run, logs read back.

Every feed implements :class:`ocrtop.tui.core.feeds.base.Feed`; the app and the headless loop
ask its :class:`~ocrtop.tui.core.feeds.base.Capabilities` what it can do. Modules: ``base`` (the
protocol), ``logs`` (finding and checking event logs), ``backfill`` (jobs that ended
unseen), ``replay`` and ``live`` (the two feeds). Imports go one way, in that order.
"""
