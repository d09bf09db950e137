"""referral's HTTP routes; every read authorised and audited."""

from fastapi import APIRouter

from . import participation, referrals, resources

router = APIRouter()
for part in (referrals, resources, participation):
    router.include_router(part.router)
