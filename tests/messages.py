"""Events as the JSON messages producers send (SPEC §2), for tests that build their own."""

from __future__ import annotations

from decimal import Decimal

import orjson

from schemas.events import Event, Purchase
from schemas.money import currency_exponent
from schemas.timestamps import format_us


def event_json(event: Event) -> bytes:
    """The message a producer would send for ``event``."""
    body: dict[str, object] = {"event_id": event.event_id, "lead_id": event.lead_id,
                               "occurred_at": format_us(event.occurred_at_us)}
    if isinstance(event, Purchase):
        exponent = currency_exponent(event.currency) or 0
        body |= {"type": "purchase", "currency": event.currency,
                 "amount": str(Decimal(event.amount_minor).scaleb(-exponent))}
        if event.campaign_id is not None:
            body["campaign_id"] = event.campaign_id
    else:
        body |= {"type": event.touch_type, "campaign_id": event.campaign_id}
    return orjson.dumps(body)
