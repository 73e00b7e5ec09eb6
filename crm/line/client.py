"""The LINE Messaging API adapter: the only module that imports linebot.v3.messaging."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from linebot.v3.messaging import (
    ApiClient,
    ApiException,
    Configuration,
    CreateRichMenuAliasRequest,
    Message,  # any message object (surveys: quick replies)
    MessagingApi,
    MessagingApiBlob,
    MulticastRequest,
    PushMessageRequest,
    ReplyMessageRequest,
    RichMenuBulkLinkRequest,
    RichMenuBulkUnlinkRequest,
    RichMenuRequest,
    TextMessage,
    UpdateRichMenuAliasRequest,
)
from urllib3.exceptions import HTTPError as Urllib3Error

from crm.db import write_transaction_open
from crm.line.errors import LineApiError, LineCallInTransaction
from crm.line.profile import Profile
from crm.line.ratelimit import TokenBucket

log = logging.getLogger(__name__)
REAL_LINE_HOST = "https://api.line.me"


@dataclass(frozen=True)
class Quota:
    """The month's message quota and usage."""

    limited: bool
    limit: int | None
    used: int

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(self.limit - self.used, 0)


class LineClient:
    """Calls to LINE with short timeouts; errors become LineApiError.

    No call may happen while the calling thread holds a database write transaction (a slow LINE would hold
    SQLite's one write lock, or PostgreSQL row locks, for as long): with `refuse_in_transaction` such a call
    raises LineCallInTransaction, otherwise it is logged as an error and made.

    Threads may share a client: it keeps up to `max_connections` keep-alive connections to LINE, and
    `profile_bucket` (when given) paces this process's profile requests under LINE's rate limit.
    """

    def __init__(
        self,
        *,
        api_base: str,
        access_token: str,
        timeout: float = 5.0,
        refuse_in_transaction: bool = False,
        max_connections: int = 32,
        profile_bucket: TokenBucket | None = None,
    ):
        host = api_base.rstrip("/")
        configuration = Configuration(host=None if host == REAL_LINE_HOST else host, access_token=access_token)
        configuration.retries = False  # no silent urllib3 retries: callers retry with backoff and retry keys
        configuration.connection_pool_maxsize = max_connections
        self._api = MessagingApi(ApiClient(configuration))
        self._timeout = (min(timeout, 3.0), timeout)
        self._refuse_in_transaction = refuse_in_transaction
        self._profile_bucket = profile_bucket

    def get_profile(self, user_id: str) -> Profile | None:
        """Return the user's profile, or None when LINE answers 404 (blocked, no consent, unknown)."""
        if self._profile_bucket is not None:
            self._profile_bucket.take()
        try:
            profile = self._call(self._api.get_profile, user_id)
        except LineApiError as error:
            if error.status == 404:
                return None
            raise
        return Profile(
            display_name=profile.display_name,
            picture_url=profile.picture_url,
            language=profile.language,
            status_message=profile.status_message,
        )

    def push_text(self, user_id: str, text: str, *, retry_key: str) -> None:
        """Push one text message; a 409 for our own retry key counts as sent."""
        request = PushMessageRequest(to=user_id, messages=[TextMessage(text=text)])
        try:
            self._call(self._api.push_message, request, x_line_retry_key=retry_key)
        except LineApiError as error:
            if not error.already_accepted:
                raise

    def reply_text(self, reply_token: str, texts: list[str]) -> None:
        """Reply with up to five text messages."""
        request = ReplyMessageRequest(reply_token=reply_token, messages=[TextMessage(text=t) for t in texts])
        self._call(self._api.reply_message, request)

    def reply_messages(self, reply_token: str, messages: list[dict]) -> None:
        """Reply with up to five message objects given as LINE JSON (validated by the SDK's models)."""
        request = ReplyMessageRequest(reply_token=reply_token, messages=[Message.from_dict(m) for m in messages])
        self._call(self._api.reply_message, request)

    def push_messages(self, user_id: str, messages: list[dict], *, retry_key: str) -> str | None:
        """Push up to five message objects given as LINE JSON; a 409 for our own retry key counts as sent.

        Returns LINE's request ID (of the first acceptance on a 409), when LINE gives one.
        """
        request = PushMessageRequest(to=user_id, messages=[Message.from_dict(m) for m in messages])
        return self._accepted(self._api.push_message_with_http_info, request, retry_key)

    MULTICAST_MAX_USERS = 500

    def multicast_messages(self, user_ids: list[str], messages: list[dict], *, retry_key: str) -> str | None:
        """Send up to five message objects to up to 500 users; a 409 for our own retry key counts as sent."""
        if not 1 <= len(user_ids) <= self.MULTICAST_MAX_USERS:
            raise ValueError(f"multicast takes 1 to {self.MULTICAST_MAX_USERS} user IDs, not {len(user_ids)}")
        # The ids are stored LINE user IDs: neither validated nor serialised by pydantic one by one (~1.5 ms CPU
        # a request of 500; the same JSON); the messages are validated.
        request = _StoredIdsMulticast.construct(to=list(user_ids), messages=[Message.from_dict(m) for m in messages])
        return self._accepted(self._api.multicast_with_http_info, request, retry_key)

    def _accepted(self, method, request, retry_key: str) -> str | None:
        """Call a send method with a retry key; return LINE's request ID, treating 409 as accepted."""
        try:
            response = self._call(method, request, x_line_retry_key=retry_key)
        except LineApiError as error:
            if not error.already_accepted:
                raise
            return error.accepted_request_id
        return (response.headers or {}).get("x-line-request-id")

    def get_quota(self) -> Quota:
        """Return the month's quota and usage (LINE's usage figure is approximate)."""
        quota = self._call(self._api.get_message_quota)
        used = self._call(self._api.get_message_quota_consumption).total_usage
        limited = quota.type == "limited"
        return Quota(limited=limited, limit=quota.value if limited else None, used=used)

    def get_message_content(self, message_id: str) -> tuple[bytes, str] | None:
        """The bytes and content type of what a user sent (an image, video, voice message, file), from
        api-data.line.me; None when LINE answers 404 (unknown, or kept no longer). The SDK reads the whole body:
        callers check its size."""
        return self._blob(MessagingApiBlob(self._api.api_client).get_message_content_with_http_info, message_id)

    def get_message_content_preview(self, message_id: str) -> tuple[bytes, str] | None:
        """The preview image of an image or video a user sent (as `get_message_content`)."""
        blob = MessagingApiBlob(self._api.api_client)
        return self._blob(blob.get_message_content_preview_with_http_info, message_id)

    def _blob(self, method, message_id: str) -> tuple[bytes, str] | None:
        try:
            response = self._call(method, message_id)
        except LineApiError as error:
            if error.status == 404:
                return None
            raise
        content_type = (response.headers or {}).get("Content-Type") or ""
        return bytes(response.data or b""), content_type.split(";")[0].strip().lower()

    # ---- Rich menus: create, image, default, per-user and bulk links, aliases, delete ----
    BULK_MAX_USERS = 500

    def create_rich_menu(self, menu: dict) -> str:
        """Create a rich menu from LINE's JSON rich menu object; return its richMenuId."""
        return self._call(self._api.create_rich_menu, RichMenuRequest.from_dict(menu)).rich_menu_id

    def set_rich_menu_image(self, rich_menu_id: str, data: bytes, content_type: str) -> None:
        """Attach the menu's JPEG or PNG image (LINE never replaces an image once set)."""
        blob = MessagingApiBlob(self._api.api_client)
        self._call(blob.set_rich_menu_image, rich_menu_id, body=data, _headers={"Content-Type": content_type})

    def set_default_rich_menu(self, rich_menu_id: str) -> None:
        """Make the menu every friend's default."""
        self._call(self._api.set_default_rich_menu, rich_menu_id)

    def clear_default_rich_menu(self) -> None:
        """Remove the default menu."""
        self._call(self._api.cancel_default_rich_menu)

    def link_rich_menu(self, user_id: str, rich_menu_id: str) -> None:
        """Show the menu to one user (replaces their per-user menu at once)."""
        self._call(self._api.link_rich_menu_id_to_user, user_id, rich_menu_id)

    def unlink_rich_menu(self, user_id: str) -> None:
        """Remove one user's per-user menu."""
        self._call(self._api.unlink_rich_menu_id_from_user, user_id)

    def bulk_link_rich_menu(self, rich_menu_id: str, user_ids: list[str]) -> None:
        """Link the menu to up to 500 users in one call (LINE applies it asynchronously)."""
        if not 1 <= len(user_ids) <= self.BULK_MAX_USERS:
            raise ValueError(f"bulk link takes 1 to {self.BULK_MAX_USERS} user IDs, not {len(user_ids)}")
        request = RichMenuBulkLinkRequest(rich_menu_id=rich_menu_id, user_ids=list(user_ids))
        self._call(self._api.link_rich_menu_id_to_users, request)

    def bulk_unlink_rich_menu(self, user_ids: list[str]) -> None:
        """Remove the per-user menus of up to 500 users in one call."""
        if not 1 <= len(user_ids) <= self.BULK_MAX_USERS:
            raise ValueError(f"bulk unlink takes 1 to {self.BULK_MAX_USERS} user IDs, not {len(user_ids)}")
        self._call(self._api.unlink_rich_menu_id_from_users, RichMenuBulkUnlinkRequest(user_ids=list(user_ids)))

    def create_rich_menu_alias(self, alias_id: str, rich_menu_id: str) -> None:
        """Create a tab alias for a menu (the target of richmenuswitch actions)."""
        request = CreateRichMenuAliasRequest(rich_menu_alias_id=alias_id, rich_menu_id=rich_menu_id)
        self._call(self._api.create_rich_menu_alias, request)

    def update_rich_menu_alias(self, alias_id: str, rich_menu_id: str) -> None:
        """Point an existing alias at another menu."""
        self._call(self._api.update_rich_menu_alias, alias_id, UpdateRichMenuAliasRequest(rich_menu_id=rich_menu_id))

    def delete_rich_menu_alias(self, alias_id: str) -> None:
        """Delete an alias (limited to 100 an hour)."""
        self._call(self._api.delete_rich_menu_alias, alias_id)

    def delete_rich_menu(self, rich_menu_id: str) -> None:
        """Delete a menu; LINE unlinks it from everyone (limited to 100 an hour)."""
        self._call(self._api.delete_rich_menu, rich_menu_id)

    def list_rich_menus(self) -> list[dict]:
        """Every rich menu of the channel made through the API, as LINE's JSON objects."""
        return [menu.to_dict() for menu in self._call(self._api.get_rich_menu_list).richmenus]

    # ---- end of rich menus ----

    # ---- Followers ids (the followers import) ----
    def get_followers_ids(self, start: str | None = None, limit: int = 1000) -> tuple[list[str], str | None]:
        """One page of the followers' user IDs and the continuation token of the next page (None: last page).
        LINE answers 403 for accounts that may not use this API (only verified and premium accounts may)."""
        page = self._call(self._api.get_followers, start=start, limit=limit)
        return list(page.user_ids or []), page.next or None

    def _call(self, method, *args, **kwargs):
        if write_transaction_open():
            if self._refuse_in_transaction:
                raise LineCallInTransaction(f"LINE call {method.__name__} inside an open write transaction")
            log.error("line_call_in_transaction method=%s", method.__name__)
        try:
            return method(*args, _request_timeout=self._timeout, **kwargs)
        except ApiException as error:
            raise _api_error(error) from error
        except (Urllib3Error, OSError) as error:
            raise LineApiError(f"LINE API unreachable: {type(error).__name__}") from error


class _StoredIdsMulticast(MulticastRequest):
    """The SDK's multicast request, whose JSON (the SDK's `to_dict`) takes the user IDs as they are: pydantic's
    walk of each of 500 strings was most of the SDK's CPU per request."""

    def to_dict(self):
        body = MulticastRequest.to_dict(self.copy(update={"to": []}))
        body["to"] = list(self.to)
        return body


def _api_error(error: ApiException) -> LineApiError:
    """Turn the SDK's exception into ours, keeping LINE's message."""
    message = error.reason or "LINE API error"
    try:
        body = json.loads(error.body or "{}")
        message = body.get("message") or message
    except (TypeError, ValueError):
        pass
    headers = error.headers or {}
    accepted = headers.get("x-line-accepted-request-id") or headers.get("X-Line-Accepted-Request-Id")
    return LineApiError(message, status=error.status, accepted_request_id=accepted)
