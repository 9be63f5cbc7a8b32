"""Lightning glue: the detection module, the datamodule, and the training entry points.

Kept import-light on purpose: Hydra imports ``ocrtop.ocr.lightning.sweep_summary`` at start-up
(it is a Hydra callback), and that must not pull in torch. Import the submodules you need.
"""
