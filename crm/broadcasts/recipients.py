"""A broadcast recipient's outcome as every feature reads it: derived from the delivery request that carries it.

Accepting a multicast request of 500 friends writes one delivery_request row (state, finished_at, error), not
500 broadcast_recipient rows: a recipient row stays "queued" with its request_id, and its state, send time and
error are its request's once the request has ended. A row whose own state is anything else (held out, capped,
or sent/failed as written before this rule) keeps its own. Statistics, the friend page, the talk timeline,
conversions and the frequency cap read recipients through `outcomes()`, never the raw table.
"""

from __future__ import annotations

from sqlalchemy import and_, case, select
from sqlalchemy.orm import aliased

from crm.broadcasts.models import BroadcastRecipient, DeliveryRequest, RecipientState, RequestState

_recipient = BroadcastRecipient.__table__
_request = DeliveryRequest.__table__


def outcomes():
    """BroadcastRecipient as its outcome: an ORM alias with the same columns (state, sent_at and error derived
    from the recipient's request while the row itself is queued), usable wherever BroadcastRecipient is."""
    waiting = _recipient.c.state == RecipientState.QUEUED
    sent = and_(waiting, _request.c.state == RequestState.SENT)
    failed = and_(waiting, _request.c.state == RequestState.FAILED)
    derived = (
        select(
            _recipient.c.broadcast_id,
            _recipient.c.friend_id,
            case((sent, RecipientState.SENT), (failed, RecipientState.FAILED), else_=_recipient.c.state).label("state"),
            _recipient.c.request_id,
            _recipient.c.variant_id,
            case((failed, _request.c.error), else_=_recipient.c.error).label("error"),
            case((sent, _request.c.finished_at), else_=_recipient.c.sent_at).label("sent_at"),
        )
        .select_from(_recipient.outerjoin(_request, _request.c.id == _recipient.c.request_id))
        .subquery("recipient_outcome")
    )
    return aliased(BroadcastRecipient, derived, name="recipient_outcome", adapt_on_names=True)
