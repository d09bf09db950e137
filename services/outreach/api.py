"""outreach's HTTP routes. The platform serves health, readiness, metrics and OpenAPI; the pillar's
own routes arrive with its issue."""

from fastapi import APIRouter

router = APIRouter(tags=["アウトリーチ等を通じた継続的支援"])
