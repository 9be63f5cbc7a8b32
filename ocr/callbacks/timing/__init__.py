"""How long each training step took and why: the step clock and what it reads.

``step_clock`` times every step (data wait around the fetch, compute the rest);
``batch_info`` counts the samples in a batch; ``cuda_timing`` reads GPU time without a
sync; ``overhead`` measures ocrtop's own cost; ``step_loss`` is the loss a step returned.
Throughput, alerts, profiler and DDP figures all read the one clock.
"""
