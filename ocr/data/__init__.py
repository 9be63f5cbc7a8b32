"""Data pipeline: canonical and synthetic page sources, transforms, targets, Dataset.

Modules import torch only where they must (``dataset``, ``collate``, ``sample``), so ``ocrtop data
check`` and ``ocrtop data synth`` start without it.
"""
