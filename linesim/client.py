"""SimulatorClient: the control API over HTTP, for tests, benchmarks and scripts."""

from __future__ import annotations

import base64

import requests


class SimulatorError(Exception):
    """The control API answered with an error status."""

    def __init__(self, status: int, body):
        super().__init__(f"simulator answered {status}: {body}")
        self.status, self.body = status, body


class SimulatorClient:
    """Drives a running simulator: users and their actions, inspection, faults, limits, settings."""

    def __init__(self, base_url: str, *, timeout: float = 30.0, session: requests.Session | None = None):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = session  # owned by the caller; without one each call opens and closes a connection

    def _call(self, method: str, path: str, body: dict | None = None, params: dict | None = None):
        """Send one control-API request and return its JSON."""
        url = f"{self.base_url}/_sim{path}"
        sender = self._session.request if self._session else requests.request
        if body is None and method != "GET":
            body = {}  # the control API takes JSON only, so that a foreign web page cannot post to it
        response = sender(method, url, json=body, params=params, timeout=self.timeout)
        data = response.json() if response.content else None
        if response.status_code >= 400:
            raise SimulatorError(response.status_code, data)
        return data

    # Users and what they do (actions return {"status", "elapsedMs", "error", "responseBody", "event"}).
    def create_user(
        self,
        display_name: str = "Test User",
        *,
        picture_url: str | None = None,
        language: str | None = None,
        status_message: str | None = None,
        profile_consent: bool = True,
        is_test_friend: bool = False,
    ) -> str:
        """Create a simulated user (not yet a friend); return the userId."""
        body = {
            "displayName": display_name,
            "pictureUrl": picture_url,
            "language": language,
            "statusMessage": status_message,
            "profileConsent": profile_consent,
            "isTestFriend": is_test_friend,
        }
        return self._call("POST", "/users", {key: value for key, value in body.items() if value is not None})["userId"]

    def users(self) -> list[dict]:
        """Every simulated user."""
        return self._call("GET", "/users")["users"]

    def get_user(self, user_id: str) -> dict:
        """One simulated user (status: new | following | blocked)."""
        return self._call("GET", f"/users/{user_id}")

    def follow(self, user_id: str) -> dict:
        """Add the account as a friend (follow event; isUnblocked when re-following after a block)."""
        return self._call("POST", f"/users/{user_id}/follow")

    def unfollow(self, user_id: str) -> dict:
        """Block the account (unfollow event)."""
        return self._call("POST", f"/users/{user_id}/unfollow")

    def send_text(self, user_id: str, text: str) -> dict:
        """Send a text message event."""
        return self._call("POST", f"/users/{user_id}/messages", {"text": text})

    def send_message(self, user_id: str, message: dict) -> dict:
        """Send any message event: {"type": "sticker"|"image"|"video"|"audio"|"file"|"location"|"text", ...}."""
        return self._call("POST", f"/users/{user_id}/messages", message)

    def send_image(self, user_id: str, data: bytes | None = None, content_type: str = "image/png") -> dict:
        """Send an image message event; LINE keeps its bytes (the simulator's sample photo without `data`)."""
        body = {"type": "image"}
        if data is not None:
            body.update(contentBase64=base64.b64encode(data).decode(), contentType=content_type)
        return self.send_message(user_id, body)

    def send_media(
        self, user_id: str, kind: str, data: bytes | None = None, content_type: str | None = None, **fields
    ) -> dict:
        """Send a video, audio or file message event (fields: duration, fileName, fileSize...); LINE keeps its
        bytes (a sample of the kind without `data`)."""
        body = {"type": kind, **fields}
        if data is not None:
            body.update(contentBase64=base64.b64encode(data).decode(), contentType=content_type)
        return self.send_message(user_id, body)

    def expire_content(self, message_id: str) -> None:
        """Forget a message's bytes and preview, as LINE does after its keeping period (the content API then
        answers 404)."""
        self._call("DELETE", f"/contents/{message_id}")

    def postback(self, user_id: str, data: str, params: dict | None = None, display_text: str | None = None) -> dict:
        """Send a postback event."""
        body = {"data": data, "params": params, "displayText": display_text}
        return self._call("POST", f"/users/{user_id}/postback", {k: v for k, v in body.items() if v is not None})

    def unsend(self, user_id: str, message_id: str | None = None) -> dict:
        """Send an unsend event (default: the user's last message)."""
        return self._call("POST", f"/users/{user_id}/unsend", {"messageId": message_id} if message_id else {})

    def tap_action(self, user_id: str, action: dict, params: dict | None = None) -> dict:
        """Tap an action object from a quick reply, template or flex message."""
        return self._call("POST", f"/users/{user_id}/actions", {"action": action, "params": params})

    def tap_rich_menu(self, user_id: str, area: int) -> dict:
        """Tap an area of the rich menu the user sees."""
        return self._call("POST", f"/users/{user_id}/richmenu/tap", {"area": area})

    def rich_menu(self, user_id: str) -> dict:
        """The menu the user sees: {"richMenuId", "source", "richMenu", "hasImage"}."""
        return self._call("GET", f"/users/{user_id}/richmenu")

    # What users received.
    def inbox(self, user_id: str) -> list[dict]:
        """Delivered messages: [{"api", "requestId", "retryKey", "messages", "sentMessages", "sentAt"}]."""
        return self._call("GET", f"/users/{user_id}/inbox")

    def undelivered(self, user_id: str) -> list[dict]:
        """Accepted but undelivered messages (each with a "reason")."""
        return self._call("GET", f"/users/{user_id}/undelivered")

    def timeline(self, user_id: str) -> list[dict]:
        """The chat as the user sees it."""
        return self._call("GET", f"/users/{user_id}/timeline")

    def chat_inbox(self, chat_id: str) -> list[dict]:
        """Delivered messages of any chat (user, group or room)."""
        return self._call("GET", f"/chats/{chat_id}/inbox")

    # Webhooks.
    def raw_events(
        self, events: list[dict], *, fill: bool = True, signature: str | None = None, destination: str | None = None
    ) -> dict:
        """Send events of any type in one webhook; missing common fields are filled unless fill=False."""
        body = {"events": events, "fill": fill, "signature": signature, "destination": destination}
        return self._call("POST", "/webhook/raw", {k: v for k, v in body.items() if v is not None})

    def redeliver(self, webhook_event_id: str) -> dict:
        """Send a sent event again with deliveryContext.isRedelivery true."""
        return self._call("POST", "/webhook/redeliver", {"webhookEventId": webhook_event_id})

    def webhook_log(self) -> list[dict]:
        """Every webhook sent and the CRM's answer."""
        return self._call("GET", "/webhook/log")

    # The platform.
    def requests_log(self, path: str | None = None, method: str | None = None) -> list[dict]:
        """Messaging API calls, optionally those whose path contains `path`."""
        params = {key: value for key, value in {"path": path, "method": method}.items() if value}
        return self._call("GET", "/requests", params=params)

    def narrowcasts(self) -> list[dict]:
        """Accepted narrowcasts."""
        return self._call("GET", "/narrowcasts")

    def set_fault(
        self,
        endpoint: str = "*",
        kind: str = "error",
        count: int | None = 1,
        stall_seconds: float = 0.0,
        status: int = 500,
    ) -> list[dict]:
        """Make matching endpoints fail ("error"), answer late ("stall") or fail late ("stall_error")."""
        body = {"endpoint": endpoint, "kind": kind, "count": count, "stallSeconds": stall_seconds, "status": status}
        return self._call("POST", "/faults", body)["faults"]

    def clear_faults(self) -> None:
        """Remove every fault rule."""
        self._call("DELETE", "/faults")

    def set_rate_limit(self, per_second: int | None, endpoint: str | None = None) -> dict:
        """Limit requests per second per endpoint (None: unlimited)."""
        return self._call("POST", "/rate-limit", {"perSecond": per_second, "endpoint": endpoint})

    def set_quota(self, value: int | None, total_usage: int | None = None) -> dict:
        """Set the monthly limit (None: no limit) and optionally the usage so far."""
        body = {"type": "none"} if value is None else {"type": "limited", "value": value}
        if total_usage is not None:
            body["totalUsage"] = total_usage
        return self._call("POST", "/quota", body)

    def configure(self, **settings) -> dict:
        """Change settings: replyTokenTtlSeconds, redeliveryReplyTokenTtlSeconds, webhookTimeout,
        followersApi, webhookUrl."""
        return self._call("POST", "/config", settings)

    def reset(self) -> None:
        """Return the simulator to its initial state."""
        self._call("POST", "/reset")
