"""Alert rules and the engine that runs them: plain Python, no Lightning, no torch.

``engine`` fires a rule after its condition holds for ``sustain_s`` and clears it with
hysteresis; ``checks`` are the conditions over one snapshot of monitor values; ``rules``
are the default rules with their thresholds and hints. The Lightning side is
:mod:`ocrtop.ocr.callbacks.alerts` (and the straggler rule of
:mod:`ocrtop.ocr.callbacks.rank_stats`).
"""
