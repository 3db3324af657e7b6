"""core.collector.freeze_loaded_app: what the process holds once loaded leaves the collector's sight, and
what is made after it is still collected."""

from __future__ import annotations

import gc
import weakref

from core.collector import freeze_loaded_app


class Node:
    def __init__(self):
        self.me = self  # a cycle: only the collector frees it


def test_the_loaded_objects_are_frozen_and_later_cycles_still_collected():
    loaded = Node()
    try:
        freeze_loaded_app()
        assert gc.get_freeze_count() > 1000
        later = Node()
        gone = weakref.ref(later)
        kept = weakref.ref(loaded)
        del later, loaded
        gc.collect()
        assert gone() is None
        assert kept() is not None  # frozen: a full collection does not look at it
    finally:
        gc.unfreeze()
