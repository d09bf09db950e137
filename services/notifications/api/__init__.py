"""notifications' HTTP routes: inboxes, and the operators' webhook subscriptions."""

from fastapi import APIRouter

from ..webhooks.api import router as webhooks
from .inbox import router as inbox

router = APIRouter()
router.include_router(inbox)
router.include_router(webhooks)
