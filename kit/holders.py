"""Who holds a case (ACCESS.md, "Holding it"): pure rules every service applies to the same facts.

intake decides on its own tables; other services (meetings) on their view of intake's events.
Both call these, so "holder" means one thing everywhere.
"""

from __future__ import annotations

from contracts.taxonomy import DestinationKind, receiving_office

# Destinations outside the recording window's legal body: reached only on the hand-over form,
# with the consent it names (intake's domain checks it), so the receiving office is handed the case.
HANDED_OVER: frozenset[str] = frozenset({"agency", "coordinator"})


def of_consultation(receiving_division: str, kind: DestinationKind,
                    agency: str | None) -> frozenset[str]:
    """A consultation is held by the division that recorded it and the office it went to."""
    office = receiving_office(kind, agency, receiving_division)
    return frozenset({receiving_division, *((office,) if office else ())})


def of_person_on(receiving_division: str, kind: DestinationKind, agency: str | None,
                 present: bool) -> frozenset[str]:
    """Whom a consultation makes a holder of one person linked to it.

    The person came to the window themselves (their own act): the consultation's holders. The
    case was handed on with consent: the office it was handed to. Merely named (a relative, a
    neighbour): nobody, since naming someone shows no more of them than the person search does.
    """
    if present:
        return of_consultation(receiving_division, kind, agency)
    office = receiving_office(kind, agency, receiving_division)
    return frozenset({office}) if kind in HANDED_OVER and office else frozenset()
