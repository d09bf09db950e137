"""Events plans consumes: none yet; the pillar's issue adds them."""

from kit.inbox import Handlers

HANDLERS: Handlers = {}
