"""Who holds a case (ACCESS.md, "Holding it"): pure rules every service applies to the same facts.

intake decides on its own tables; other services (meetings) on their view of intake's events.
Both call these, so "holder" means one thing everywhere.
"""

from __future__ import annotations

from contracts.taxonomy import DestinationKind, receiving_office

# Reached only on the hand-over form, with the consent of every person it names (intake's domain
# checks it): the city's coordinators are handed the case and hold it.
HANDED_OVER: frozenset[str] = frozenset({"coordinator"})
# An agency (an office of the directory, often of another legal body) holds only its own copy of
# what it was handed (intake's handover_copies): the live record, the person's current one and
# anything later it reads only while a consent covers it (ACCESS.md, "Time").
COPY_ONLY: frozenset[str] = frozenset({"agency"})


def of_consultation(receiving_division: str, kind: DestinationKind,
                    agency: str | None) -> frozenset[str]:
    """A consultation is held by the division that recorded it and the city office it went to."""
    office = receiving_office(kind, agency, receiving_division)
    return frozenset({receiving_division, *((office,) if office and kind not in COPY_ONLY else ())})


def of_person_on(receiving_division: str, kind: DestinationKind, agency: str | None,
                 present: bool) -> frozenset[str]:
    """Whom a consultation makes a holder of one person linked to it.

    The person came to the window themselves (their own act): the consultation's holders. The
    case was handed to the coordinators with consent: their office. Handed to an agency: nobody
    (its copy, and consent while it lasts). Merely named (a relative, a neighbour): nobody, since
    naming someone shows no more of them than the person search does.
    """
    if present:
        return of_consultation(receiving_division, kind, agency)
    office = receiving_office(kind, agency, receiving_division)
    return frozenset({office}) if kind in HANDED_OVER and office else frozenset()
