"""intake's HTTP routes: parse -> unit of work -> domain -> respond; every read authorised."""

from fastapi import APIRouter

from . import consents, consultations, households, persons

router = APIRouter()
for module in (consultations, persons, households, consents):
    # The modules' routes themselves (their tags and paths are set as each is declared), not
    # their routers included: FastAPI 0.163 tries a request against an included router's routes
    # twice at every level of inclusion (#14).
    router.routes.extend(module.router.routes)
