"""The test suite, a regular package so ``tests.helpers`` resolves to this folder.

A regular package on the repository root (first on ``sys.path`` under pytest's
``pythonpath``, and in spawned DDP ranks, which inherit the parent's path) wins over any
other top-level ``tests`` package an installed wheel may have left in site-packages
(``cleval`` 0.1.1 ships one).
"""
