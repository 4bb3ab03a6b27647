"""Telling the garbage collector that what the imports built lives as long as the process.

CPython walks every tracked object when it collects its oldest generation, which happens
each time enough new objects survive younger collections: writing a sweep's job folders or
drawing its figures makes many. torch, Hydra, pandas and matplotlib hold hundreds of
thousands of objects that never become garbage; gc.freeze() moves what exists now out of
the collector's walks. Measured on a 128-job sweep's training process: 200-250 ms in
collections before, 33 ms after; a figure process's first run's figures 515 -> 392 ms.
"""

from __future__ import annotations

import gc


def freeze_imports() -> None:
    """Call once the process's modules are imported and before its many small objects."""
    gc.freeze()
