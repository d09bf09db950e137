"""Shared closed vocabularies used inside event payloads."""

import json
from pathlib import Path
from typing import Literal

# 相談分野: code -> {"ja": ..., "en": ...}. Events carry codes; people read the labels.
CATEGORIES: dict[str, dict[str, str]] = json.loads(
    (Path(__file__).with_name("categories.json")).read_text(encoding="utf-8"))["categories"]


def category_label(code: str, lang: str = "ja") -> str:
    """The label people read; a code a deployment added and this service does not know shows as is."""
    return CATEGORIES.get(code, {}).get(lang, code)

# How a consultation reached the city (受付経路).
Channel = Literal["visit", "phone", "home_visit", "mail", "agency_referral", "partner_report",
                  "outreach"]

Urgency = Literal["low", "normal", "high", "emergency"]

# Where a consultation goes from the window: it always goes somewhere (断らない相談).
DestinationKind = Literal["handled_here", "agency", "promoter", "general_desk", "coordinator"]


# The directory's kinds (owned by referral): who holds data, and where work lands.
LegalBodyKind = Literal["municipality", "social_welfare_council", "commissioned", "npo",
                        "provider", "partner"]
OfficeKind = Literal["division_window", "promoter_desk", "general_desk", "coordinators", "agency",
                     "auditors", "partner"]

# Offices that receive consultations when no single agency is named. The promoter (推進員)
# sits in each division; the general desk (福祉総合相談窓口) and the city's coordinators
# (地域福祉コーディネーター) are city-wide. Who staffs them is in the directory.
GENERAL_DESK = "general-desk"
COORDINATORS = "coordinators"


def receiving_office(kind: DestinationKind, agency: str | None, division: str) -> str | None:
    """Who must act on a consultation; None when the receiving window handles it itself."""
    match kind:
        case "handled_here":
            return None
        case "agency":
            return agency
        case "promoter":
            return f"promoter:{division}"
        case "general_desk":
            return GENERAL_DESK
        case "coordinator":
            return COORDINATORS
    raise ValueError(f"unknown destination {kind!r}")
