"""The notice outbox: texts people receive and the loop that delivers them."""

from presence_sync.notices.delivery import ChatSender, NoticeDelivery, UndeliverableError
from presence_sync.notices.texts import (
    HEALTH_ALERT,
    JOB_REPORT,
    USER_SYNCED,
    USER_UNSYNCED,
    RenderedNotice,
    render,
)

__all__ = [
    "HEALTH_ALERT",
    "JOB_REPORT",
    "USER_SYNCED",
    "USER_UNSYNCED",
    "ChatSender",
    "NoticeDelivery",
    "RenderedNotice",
    "UndeliverableError",
    "render",
]
