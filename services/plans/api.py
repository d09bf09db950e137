"""plans's HTTP routes. The platform serves health, readiness, metrics and OpenAPI; the pillar's
own routes arrive with its issue."""

from fastapi import APIRouter

router = APIRouter(tags=["アセスメント・プラン・伴走支援"])
