"""Machine and process-tree sampling: plain Python over psutil and NVML, no Lightning.

``process_tree`` is the one walker of this rank's process tree (PSS/USS/RSS),
``system`` the 1 Hz sampler thread over it and the machine, ``nvml`` the GPUs,
``resource_csv`` the time series on disk, ``stats`` the percentiles every monitor
shares. The Lightning side is :mod:`ocrtop.ocr.callbacks.resource_monitor`.
"""
