"""Losses: ``loss(output: DetectionOutput, batch: dict) -> dict[str, Tensor]`` with ``loss``."""

from ocrtop.ocr.losses.craft import CraftLoss, ohem_mse
from ocrtop.ocr.losses.db import DBLoss, balanced_bce, dice_loss, masked_l1

__all__ = ["CraftLoss", "DBLoss", "balanced_bce", "dice_loss", "masked_l1", "ohem_mse"]
