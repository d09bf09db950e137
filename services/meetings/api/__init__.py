"""meetings' HTTP routes: parse -> unit of work -> use case -> respond; every read authorised."""

from fastapi import APIRouter

from . import materials, meetings, sessions

router = APIRouter()
for module in (meetings, sessions, materials):
    router.include_router(module.router)
