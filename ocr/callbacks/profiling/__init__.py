"""torch.profiler windows (``window``) and what they are read into (``analysis``).

The Lightning side, which opens windows on a schedule or on a ``profile`` command, is
:mod:`ocrtop.ocr.callbacks.profiler`.
"""
