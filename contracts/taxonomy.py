"""Shared closed vocabularies used inside event payloads."""

from typing import Literal

# How a consultation reached the city (受付経路).
Channel = Literal["visit", "phone", "home_visit", "mail", "agency_referral", "partner_report",
                  "outreach"]

Urgency = Literal["low", "normal", "high", "emergency"]

# Where a consultation goes from the window: it always goes somewhere (断らない相談).
DestinationKind = Literal["handled_here", "agency", "promoter", "general_desk", "coordinator"]
