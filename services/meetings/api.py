"""meetings's HTTP routes. The platform serves health, readiness, metrics and OpenAPI; the pillar's
own routes arrive with its issue."""

from fastapi import APIRouter

router = APIRouter(tags=["支援会議・重層的支援会議"])
