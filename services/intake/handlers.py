"""Events intake consumes: none yet (consent and identity events arrive with issue #4)."""

from kit.inbox import Handlers

HANDLERS: Handlers = {}
