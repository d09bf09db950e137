"""The directory's community resources as Open Referral HSDS 3 services (JSON, each with its
organisation, location, contacts, languages, schedule and capacity). HSDS wants UUIDs: each is
derived from our id, so an export names the same object the same way every time. Pure."""

from __future__ import annotations

import uuid
from typing import Any

from .resources import Capacity, ResourceIn

_NAMESPACE = uuid.UUID("6f1c2a5e-3a52-5b1e-9a0e-7473756e6167")  # tsunagu's, for HSDS ids
LANGUAGES = {"ja": "日本語", "en": "English", "zh": "中文", "ko": "한국어", "vi": "Tiếng Việt",
             "pt": "Português", "tl": "Tagalog"}
HSDS_VERSION = "3.1"


def hsds_id(kind: str, key: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{kind}:{key}"))


def _time(hhmm: str) -> str:
    return f"{hhmm}+09:00"  # HSDS times carry their offset: the city's is JST


def _present(value: Any) -> Any:
    """HSDS types its optional fields without null: an unknown one is left out."""
    if isinstance(value, dict):
        return {k: _present(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_present(v) for v in value]
    return value


def service(r: ResourceIn, body_id: str, body_label: str, capacity: Capacity) -> dict[str, Any]:
    return _present(_service(r, body_id, body_label, capacity))  # type: ignore[no-any-return]


def _service(r: ResourceIn, body_id: str, body_label: str, capacity: Capacity) -> dict[str, Any]:
    sid, org = hsds_id("service", r.id), hsds_id("organization", body_id)
    loc = hsds_id("location", r.id)
    return {
        "id": sid, "organization_id": org, "name": r.name, "description": r.description,
        "status": "active" if capacity.maximum > 0 else "inactive",
        "eligibility_description": r.eligibility or None,
        "minimum_age": r.minimum_age, "maximum_age": r.maximum_age,
        "last_modified": capacity.updated_at.isoformat(),
        "organization": {"id": org, "name": body_label, "description": body_label},
        "contacts": [{"id": hsds_id("contact", r.id), "service_id": sid, "name": r.contact.name,
                      "email": r.contact.email,
                      "phones": [{"id": hsds_id("phone", r.id), "number": r.contact.phone,
                                  "languages": []}]}],
        "languages": [{"id": hsds_id("language", f"{r.id}:{code}"), "service_id": sid,
                       "code": code, "name": LANGUAGES.get(code, code)} for code in r.languages],
        "schedules": [{"id": hsds_id("schedule", r.id), "service_id": sid, "freq": "WEEKLY",
                       "wkst": "MO", "byday": ",".join(r.schedule.byday),
                       "opens_at": _time(r.schedule.opens_at),
                       "closes_at": _time(r.schedule.closes_at),
                       "description": r.schedule.description or None}],
        "service_at_locations": [{"id": hsds_id("service_at_location", r.id), "service_id": sid,
                                  "location_id": loc, "location": {
            "id": loc, "location_type": "physical", "name": r.location.name,
            "latitude": r.location.latitude, "longitude": r.location.longitude,
            "addresses": [{"id": hsds_id("address", r.id), "location_id": loc,
                           "address_1": r.location.address_1, "city": r.location.city,
                           "state_province": r.location.state_province,
                           "postal_code": r.location.postal_code, "country": "JP",
                           "address_type": "physical"}],
            "accessibility": [{"id": hsds_id("accessibility", r.id), "location_id": loc,
                               "description": "段差なし / step-free access"}]
            if r.location.step_free else []}}],
        "capacities": [{"id": hsds_id("capacity", r.id), "service_id": sid,
                        "unit": {"id": hsds_id("unit", "person"), "name": "人",
                                 "scheme": "tsunagu", "identifier": "person"},
                        "available": capacity.available, "maximum": capacity.maximum,
                        "description": f"{r.kind}: {', '.join(r.need_codes)}",
                        "updated": capacity.updated_at.isoformat()}],
        "attributes": [],
    }


def page(services: list[dict[str, Any]]) -> dict[str, Any]:
    """The HSDS API's page of services (one page: a city's resources are a few hundred)."""
    return {"total_items": len(services), "total_pages": 1, "page_number": 1,
            "size": len(services), "first_page": True, "last_page": True,
            "empty": not services, "contents": services}
