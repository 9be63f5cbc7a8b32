"""Hydra configs for ocrtop; a package so that they ship with an installed ``ocrtop``."""
