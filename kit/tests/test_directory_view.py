"""The directory view takes the largest directory an event carries, whole, and a later revision
replaces it whole (the test stack's PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime

from contracts.events.referral import (
    MAX_ENTRIES,
    MAX_STAFF,
    DirectoryChanged,
    DirectoryLegalBody,
    DirectoryOffice,
)
from infra.local.stack import Stack
from kit import views
from kit.policy import Office
from kit.tests.conftest import kit_pool

M = "132187"
AT = datetime(2026, 4, 1, tzinfo=UTC)


def directory(revision: int, offices: int, staff: int) -> DirectoryChanged:
    bodies = (DirectoryLegalBody(legal_body_id="city", kind="municipality", participating=True),
              *(DirectoryLegalBody(legal_body_id=f"npo-{i}", kind="npo", participating=i % 2 == 0)
                for i in range(MAX_ENTRIES - 1)))
    return DirectoryChanged(revision=revision, changed_at=AT, legal_bodies=bodies, offices=tuple(
        DirectoryOffice(office_id=f"office-{i}", legal_body_id=f"npo-{i % (MAX_ENTRIES - 1)}",
                        kind="agency", takes_handovers=i % 3 != 0,
                        staff_user_ids=tuple(f"u-{i}-{s}" for s in range(staff if i < 3 else 1)))
        for i in range(offices)))


async def test_the_largest_directory_is_applied_whole_and_replaced_whole(stack: Stack) -> None:
    async with kit_pool(stack, "kitdirectory") as pool, pool.acquire() as conn:
        await views.apply_directory(conn, directory(1, MAX_ENTRIES, MAX_STAFF), M)
        assert await conn.fetchval("SELECT count(*) FROM legal_body_view") == MAX_ENTRIES
        assert await conn.fetchval("SELECT count(*) FROM office_view") == MAX_ENTRIES
        assert await conn.fetchval("SELECT count(*) FROM office_staff_view") == \
            3 * MAX_STAFF + MAX_ENTRIES - 3
        last = f"office-{MAX_ENTRIES - 1}"
        assert await views.office(conn, last) == Office(last, "npo-0", "agency", True, True)
        assert await views.office(conn, "office-3") == Office("office-3", "npo-3", "agency", False, False)
        place = await views.workplace_of(conn, f"u-2-{MAX_STAFF - 1}")
        assert place.offices == {"office-2"} and place.participating == {"npo-2"}

        await views.apply_directory(conn, directory(2, 2, 1), M)  # offices closed, staff gone
        assert await conn.fetchval("SELECT count(*) FROM office_view") == 2
        assert (await views.workplace_of(conn, f"u-2-{MAX_STAFF - 1}")).offices == frozenset()
        await views.apply_directory(conn, directory(1, MAX_ENTRIES, 1), M)  # late: ignored
        assert await conn.fetchval("SELECT count(*) FROM office_view") == 2
