"""Event contracts: validated event types, the parser that produces them, money and time."""

from schemas.events import EVENT_TYPES, TOUCH_TYPES, Event, Purchase, Rejection, Touch, TouchType
from schemas.exceptions import LeadclockError, SchemaError
from schemas.money import currency_exponent, format_minor, to_minor_units
from schemas.timestamps import format_us, parse_rfc3339_us
from schemas.validation import parse_event

__all__ = [
    "EVENT_TYPES",
    "TOUCH_TYPES",
    "Event",
    "LeadclockError",
    "Purchase",
    "Rejection",
    "SchemaError",
    "Touch",
    "TouchType",
    "currency_exponent",
    "format_minor",
    "format_us",
    "parse_event",
    "parse_rfc3339_us",
    "to_minor_units",
]
