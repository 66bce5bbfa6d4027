"""Rendering messages in the recipient's language and time zone from templates."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import formats, translation


@dataclass(frozen=True)
class Rendered:
    subject: str
    body: str
    sms: str


def supported_language(code: str) -> str:
    codes = {c for c, _n in settings.LANGUAGES}
    return code if code in codes else settings.LANGUAGE_CODE


def local_moment(moment: dt.datetime, time_zone: str) -> str:
    """A moment as the recipient reads it: their date format, their clock, their zone named."""
    try:
        tz = ZoneInfo(time_zone)
    except (KeyError, ValueError):
        tz, time_zone = ZoneInfo("UTC"), "UTC"
    local = moment.astimezone(tz)
    return f"{formats.date_format(local, 'DATETIME_FORMAT')} ({time_zone})"


def render_message(*, template: str, language: str, time_zone: str, context: dict) -> Rendered:
    """Render ``notifications/<template>/{subject,body,sms}.txt`` in ``language``.

    ``<name>_at`` (a moment) becomes ``<name>`` in the reader's zone with its clock time;
    ``<name>_on`` (a date) becomes ``<name>`` as a date alone.
    """
    with translation.override(supported_language(language)):
        ctx = {**context, "time_zone": time_zone}
        ctx.update({k[:-3]: local_moment(v, time_zone) for k, v in context.items() if k.endswith("_at") and v})
        # A date without a time of day (``*_on``): shown as a date in the reader's language.
        ctx.update(
            {k[:-3]: formats.date_format(v, "DATE_FORMAT") for k, v in context.items() if k.endswith("_on") and v}
        )
        # Lazy labels (e.g. a milestone kind) are resolved in the active language.
        ctx = {k: (str(v) if hasattr(v, "_proxy____cast") else v) for k, v in ctx.items()}
        subject = " ".join(render_to_string(f"notifications/{template}/subject.txt", ctx).split())
        body = render_to_string(f"notifications/{template}/body.txt", ctx).strip() + "\n"
        sms = " ".join(render_to_string(f"notifications/{template}/sms.txt", ctx).split())
    return Rendered(subject=subject[:200], body=body, sms=sms)
