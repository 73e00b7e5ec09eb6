"""Database tables (SQLModel). Times are aware UTC datetimes."""
from crm.models.api_tokens import ApiToken
from crm.models.broadcasts import (Broadcast, BroadcastRecipient, BroadcastStatus, DeliveryRequest,
                                   RecipientState, RequestKind, RequestState, Segment, TestFriend)
from crm.models.imports import ImportJob, ImportStatus
from crm.models.webhooks import (FollowerImport, ImportedFriend, ImportState, OutboxState, RelayItem,
                                 WebhookAttempt, WebhookCursor, WebhookDelivery, WebhookEndpoint)
from crm.models.friends import Friend, FriendStatus, Message, MessageDirection, WebhookEvent
from crm.models.richmenus import (RichMenu, RichMenuApiCall, RichMenuImage, RichMenuLink, RichMenuRelink,
                                   RichMenuRule, RichMenuStatus)
from crm.models.staff import AuditEntry, LoginAttempt, Staff
from crm.models.tags import FieldDefinition, FieldType, FieldValue, FriendTag, Note, Tag, TagFolder
from crm.models.tracking import ClickAction, LinkClick, LinkToken, TrackedLink

__all__ = [
    "AuditEntry", "FieldDefinition", "FieldType", "FieldValue", "Friend", "FriendStatus", "FriendTag",
    "LoginAttempt", "Message", "MessageDirection", "Note", "Staff", "Tag", "TagFolder", "WebhookEvent",
]
__all__ += ["RichMenu", "RichMenuApiCall", "RichMenuImage", "RichMenuLink", "RichMenuRelink", "RichMenuRule",
            "RichMenuStatus"]
__all__ += ["ClickAction", "LinkClick", "LinkToken", "TrackedLink"]
__all__ += ["Broadcast", "BroadcastRecipient", "BroadcastStatus", "DeliveryRequest", "RecipientState", "RequestKind",
            "RequestState", "Segment", "TestFriend"]
__all__ += ["FollowerImport", "ImportedFriend", "ImportState", "OutboxState", "RelayItem", "WebhookAttempt",
            "WebhookCursor", "WebhookDelivery", "WebhookEndpoint"]
__all__ += ["ImportJob", "ImportStatus"]
__all__ += ["ApiToken"]
