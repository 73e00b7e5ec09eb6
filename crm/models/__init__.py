"""Database tables (SQLModel). Times are aware UTC datetimes."""
from crm.models.friends import Friend, FriendStatus, Message, MessageDirection, WebhookEvent
from crm.models.staff import AuditEntry, LoginAttempt, Staff
from crm.models.tags import FieldDefinition, FieldType, FieldValue, FriendTag, Note, Tag, TagFolder

__all__ = [
    "AuditEntry", "FieldDefinition", "FieldType", "FieldValue", "Friend", "FriendStatus", "FriendTag",
    "LoginAttempt", "Message", "MessageDirection", "Note", "Staff", "Tag", "TagFolder", "WebhookEvent",
]
