"""intake's HTTP routes: parse -> unit of work -> domain -> respond; every read authorised."""

from fastapi import APIRouter

from . import consents, consultations, households, persons

router = APIRouter()
for module in (consultations, persons, households, consents):
    router.include_router(module.router)
