"""Thin ``@hydra.main`` entry points over :mod:`ocr.lightning`.

Run them as scripts from a checkout (``python runners/train.py ...``) or as modules from an
installed package (``python -m runners.train ...``); both find ``configs/`` next to this
package.
"""
