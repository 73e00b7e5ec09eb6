"""In-memory state of the simulated platform, guarded by one lock."""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field

from flask import current_app

from linesim import ids
from linesim.errors import LineError, SimError
from linesim.faults import FaultTable
from linesim.ratelimit import RateLimiter
from linesim.richmenus import RichMenuStore

RECENT_CHAT_MS = 7 * 24 * 3600 * 1000
RETRY_KEY_TTL_S = 24 * 3600


@dataclass
class User:
    """A simulated LINE user and their relation to the account."""

    user_id: str
    display_name: str
    picture_url: str | None = None
    language: str | None = None
    status_message: str | None = None
    profile_consent: bool = True
    is_test_friend: bool = False
    status: str = "new"  # new (never added the account) | following | blocked
    created_at: int = field(default_factory=ids.now_ms)
    last_message_at: int | None = None

    def reachable(self, now: int) -> bool:
        """Whether pushes reach the user: a friend, or a non-friend who messaged within 7 days."""
        if self.status == "following":
            return True
        recent = self.last_message_at is not None and now - self.last_message_at < RECENT_CHAT_MS
        return self.status == "new" and recent

    def profile(self) -> dict:
        """The profile object of GET /v2/bot/profile."""
        fields = {
            "displayName": self.display_name,
            "userId": self.user_id,
            "pictureUrl": self.picture_url,
            "statusMessage": self.status_message,
            "language": self.language,
        }
        return {key: value for key, value in fields.items() if value is not None}

    def to_dict(self) -> dict:
        """The user as the control API shows it."""
        return {
            "userId": self.user_id,
            "displayName": self.display_name,
            "pictureUrl": self.picture_url,
            "language": self.language,
            "statusMessage": self.status_message,
            "profileConsent": self.profile_consent,
            "isTestFriend": self.is_test_friend,
            "status": self.status,
            "createdAt": self.created_at,
        }


@dataclass
class Settings:
    """Knobs the control API can turn."""

    webhook_url: str | None
    webhook_timeout: float
    reply_token_ttl: float = 60.0
    redelivery_token_ttl: float = 20 * 60.0
    followers_api: str = "ok"  # ok | forbidden
    quota_value: int | None = None  # None: quota type "none"
    total_usage: int = 0

    def to_dict(self) -> dict:
        """The settings as the control API shows them."""
        return {
            "webhookUrl": self.webhook_url,
            "webhookTimeout": self.webhook_timeout,
            "replyTokenTtlSeconds": self.reply_token_ttl,
            "redeliveryReplyTokenTtlSeconds": self.redelivery_token_ttl,
            "followersApi": self.followers_api,
        }


@dataclass
class ReplyToken:
    """A reply token handed out in a webhook event."""

    chat_id: str
    event_ms: int
    issued_at: float = field(default_factory=time.time)
    used: bool = False
    redelivered: bool = False

    def usable(self, settings: Settings) -> bool:
        """Unused, and within 1 minute of issue (or 20 minutes of the event once redelivered)."""
        now = time.time()
        if self.used:
            return False
        if now - self.issued_at <= settings.reply_token_ttl:
            return True
        return self.redelivered and now * 1000 - self.event_ms <= settings.redelivery_token_ttl * 1000


class SimState:
    """Everything the simulator remembers; callers hold `lock` while they read or change it."""

    def __init__(self, config: dict):
        self.config = config
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        """Forget everything and return to the app's configuration."""
        with self.lock:
            self.settings = Settings(self.config["WEBHOOK_URL"], float(self.config["WEBHOOK_TIMEOUT"]))
            self.users: dict[str, User] = {}
            self.chats: dict[str, str] = {}  # groupId/roomId the bot is in -> "group" | "room"
            self.inboxes: dict[str, list] = defaultdict(list)
            self.undelivered: dict[str, list] = defaultdict(list)
            self.timelines: dict[str, list] = defaultdict(list)
            self.requests: list[dict] = []
            self.retry_keys: dict[str, dict] = {}
            self.reply_tokens: dict[str, ReplyToken] = {}
            self.events: dict[str, dict] = {}
            self.webhook_log: list[dict] = []
            self.narrowcasts: list[dict] = []
            self.login_codes: dict[str, dict] = {}  # LINE Login authorization codes
            self.contents: dict[str, tuple[bytes, str]] = {}  # users' media message ID -> (bytes, content type)
            self.previews: dict[str, tuple[bytes, str]] = {}  # users' image and video message ID -> preview image
            self.richmenus = RichMenuStore()
            self.faults = FaultTable()
            self.rate_limiter = RateLimiter(self.config.get("RATE_LIMIT_PER_SECOND"))

    def add_user(self, **fields) -> User:
        """Create a user with a fresh ID."""
        user = User(user_id=ids.user_id(), **fields)
        with self.lock:
            self.users[user.user_id] = user
        return user

    def user(self, user_id: str) -> User:
        """The user with this ID, or a control-API 404."""
        user = self.users.get(user_id)
        if user is None:
            raise SimError(404, f"no simulated user {user_id}")
        return user

    def known_chat(self, chat_id: str) -> bool:
        """Whether LINE knows this user, group or room."""
        return chat_id in self.users or chat_id in self.chats

    def unreachable_reason(self, chat_id: str, now: int) -> str | None:
        """Why a message to this chat would not be delivered, or None when it would."""
        user = self.users.get(chat_id)
        if user is not None:
            if user.reachable(now):
                return None
            return "blocked" if user.status == "blocked" else "notFriend"
        return None if chat_id in self.chats else "unknown"

    def record_delivery(self, chat_id: str, entry: dict, reason: str | None) -> None:
        """File a sent message in the chat's inbox, or with the undelivered ones."""
        if reason is None:
            self.inboxes[chat_id].append(entry)
            self.timelines[chat_id].append({"from": "bot", **entry})
        else:
            self.undelivered[chat_id].append({**entry, "reason": reason})

    def issue_reply_token(self, token: str, chat_id: str, event_ms: int) -> None:
        """Remember a reply token sent in an event."""
        with self.lock:
            self.reply_tokens[token] = ReplyToken(chat_id, event_ms)

    def mark_redelivered(self, token: str) -> None:
        """A redelivered event's token stays usable for 20 minutes after the event, if unused."""
        with self.lock:
            if token in self.reply_tokens:
                self.reply_tokens[token].redelivered = True

    def use_reply_token(self, token: str) -> str:
        """Spend a reply token and return its chat ID; 400 when unknown, used or expired."""
        record = self.reply_tokens.get(token)
        if record is None or not record.usable(self.settings):
            raise LineError(400, "Invalid reply token")
        record.used = True
        return record.chat_id

    def accepted(self, retry_key: str) -> dict | None:
        """The accepted request that used this retry key within 24 hours, if any."""
        record = self.retry_keys.get(retry_key)
        if record is None or time.time() - record["acceptedAt"] > RETRY_KEY_TTL_S:
            return None
        return record

    def note_user_action(self, user_id: str, entry: dict) -> None:
        """Add something the user did to their chat timeline."""
        with self.lock:
            self.timelines[user_id].append({"from": "user", "at": ids.now_ms(), **entry})


def current_state() -> SimState:
    """The state of the simulator app handling this request."""
    return current_app.extensions["linesim"]
