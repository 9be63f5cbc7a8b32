"""Thin ``@hydra.main`` entry points over :mod:`ocrtop.ocr.lightning`.

Run them as scripts from a checkout (``python runners/train.py ...``) or as modules from an
installed package (``python -m ocrtop.runners.train ...``); both find ``configs/`` next to this
package.
"""
