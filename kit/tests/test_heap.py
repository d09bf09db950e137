"""A service's start-up heap is out of the cyclic collector's walk, and frozen once only."""

import gc

from kit.service import YOUNG_COLLECTION_EVERY, settle_heap


def test_a_full_collection_walks_only_what_came_after_start_up() -> None:
    settle_heap()
    frozen = gc.get_freeze_count()
    assert frozen > 10_000  # the modules, models and app objects imported so far
    # A full collection no longer walks what start-up made (this function, for one).
    assert not any(o is settle_heap for o in gc.get_objects())
    # And young collections come every YOUNG_COLLECTION_EVERY allocations, not several a request.
    assert gc.get_threshold()[0] == YOUNG_COLLECTION_EVERY

    later = [[i] for i in range(1000)]  # a request's worth of objects
    settle_heap()  # a second app built in the same process (tests) freezes nothing more
    assert gc.get_freeze_count() == frozen
    del later
