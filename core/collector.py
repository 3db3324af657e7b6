"""Python's cyclic garbage collector paused around a bulk step (a registry sync, a lineage batch).

Such a step allocates hundreds of thousands of containers (decoded JSON, plans, rows) that all stay alive
until it ends. Each collection the allocations set off walks them all again for nothing, and a full one
walks every object of the process: measured, a fifth of a 2,000-version registry sync's CPU and about a
third of a lineage batch's. Reference counting still frees everything that is not in a cycle while the
collector is off; cycles wait for the next collection after the step.
"""

from __future__ import annotations

import contextlib
import gc


@contextlib.contextmanager
def collector_paused():
    """The cyclic collector off for the block, and back on after it (unless it was off already)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def freeze_loaded_app() -> None:
    """Everything the process holds once Keel is loaded (modules, URL patterns, settings, the ORM's model
    metadata: ~170,000 objects) moved out of the collector's sight (`gc.freeze`), after a collection of
    what loading left behind.

    They live as long as the process, yet every full collection walked them all: ~100 ms each, set off every
    ~150 requests of an API list by the page's instances surviving younger collections, 0.7 ms of a risks
    page's CPU (issue #15, docs/benchmarks.md "API lists"). Younger collections and cycles made after this
    are collected as before. In gunicorn's master (preload_app) the frozen objects also stay shared with the
    forked workers instead of being copied when a collection touches them."""
    gc.collect()
    gc.freeze()
