"""The home haematologist as a recipient of follow-up reminders (``scheduling.parties``).

Each follow-up visit after discharge (milestones ``followup:...``) is reminded to the home
haematologist by the case's reminder rules (``ReminderRule.to_home_haematologist``), in their
language and at a sensible hour in their zone, by email (and SMS when a phone number is given),
while they accept reminders, for the visits a link that is neither revoked nor expired covers
(the coordinator is asked in time to renew one that ends before a visit). The email
carries the link to their page; the SMS carries no link and no clinical detail. The reminders
are ordinary ``scheduling.Reminder`` rows, sent once by the same sweep and delivery as the
family's; a failure opens the coordinator's task.
"""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from scheduling.models import CoordinatorTask, Milestone, Reminder, ReminderRule
from scheduling.parties import Party, Reach
from scheduling.reminders import Recipient
from scheduling.services import pathway_due_at, task_open

from .models import AccessLink, HomeHaematologist
from .selectors import FOLLOW_UP_KEY, handback_latest
from .services import link_token, usable_link

AUDIENCE = Reminder.Audience.HOME_HAEMATOLOGIST.value


def _tell_the_coordinator_the_link_expired(contact: HomeHaematologist) -> None:
    """A reminder stopped because the doctor's newest link expired (revoking is the coordinator's
    own act): the coordinator is told once per link, so they can issue a new one."""
    newest = AccessLink.objects.filter(haematologist=contact).order_by("-created_at", "-id").first()
    if newest is None or newest.state != "expired":
        return
    task_open(
        case=contact.case,
        key=f"followup:link-expired:{newest.pk}",
        title=f"Issue {contact.name} a new link: their follow-up reminders stopped",
        detail=(
            f"The link to their page expired on {newest.expires_at:%Y-%m-%d}; reminders of follow-up "
            "visits are skipped until a new link is issued (Follow-up > Home haematologists)."
        ),
        priority=CoordinatorTask.Priority.HIGH,
    )


def home_recipients(milestone: Milestone, rule: ReminderRule) -> list[Recipient]:
    """The home haematologist, for follow-up visits only, while they accept reminders and a link
    to their page is usable."""
    if not rule.to_home_haematologist or not milestone.key.startswith(FOLLOW_UP_KEY):
        return []
    contact = HomeHaematologist.objects.filter(case_id=milestone.case_id, receives_reminders=True).first()
    link = usable_link(contact) if contact is not None else None
    if link is None or link.expires_at < milestone.due_at:
        # Not a visit after their link ends (the page would be closed by then): the coordinator
        # is asked in time to issue a new link, which plans these reminders (link_renewal_plan).
        return []
    common = {"language": contact.language, "time_zone": contact.time_zone}
    key = f"{AUDIENCE}:{contact.pk}"
    out = []
    if contact.email:
        out.append(Recipient(AUDIENCE, key, Reminder.Channel.EMAIL, **common))
    if contact.phone:
        out.append(Recipient(AUDIENCE, key, Reminder.Channel.SMS, **common))
    return out


def _visit(milestone: Milestone) -> dict:
    """The visit as the latest handback lists it (its checks and their sources)."""
    handback = handback_latest(milestone.case)
    for visit in handback.content.get("schedule", []) if handback else []:
        if visit.get("title") == milestone.title:
            return visit
    return {}


def home_reach(reminder: Reminder) -> Reach:
    """Where to reach the home haematologist now, and what their reminder says."""
    milestone = reminder.milestone
    contact_id = reminder.recipient.partition(":")[2]
    contact = HomeHaematologist.objects.filter(pk=contact_id or 0, case_id=milestone.case_id).first()
    if contact is None or not contact.receives_reminders:
        return Reach(reason="home haematologist removed or no longer reminded")
    link = usable_link(contact)
    if link is None:
        _tell_the_coordinator_the_link_expired(contact)
        return Reach(reason="no usable link to their page (revoked or expired)")
    address = contact.email if reminder.channel == Reminder.Channel.EMAIL else str(contact.phone or "")
    token = link_token(link)
    url = settings.SITE_URL.rstrip("/") + reverse("followup:handback", args=[token]) if token else ""
    visit = _visit(milestone)
    month = milestone.key.removeprefix(FOLLOW_UP_KEY).removeprefix("m")
    # A follow-up visit is a date (due at 09:00 at the treating centre by convention): the
    # reader gets the date, not a clock time converted to their zone.
    centre_zone = pathway_due_at(milestone.due_at.date()).tzinfo
    return Reach(
        address=address,
        name=contact.name,
        template="reminder_home",
        context={
            "due_on": milestone.due_at.astimezone(centre_zone).date(),
            "month": month if month.isdigit() else "",
            "checks": visit.get("checks", []),
            "sources": [s for s in visit.get("source", "").split("; ") if s],
            "home_link": url,
            "link_expires_on": link.expires_at.date(),
        },
    )


home_haematologist = Party(audience=AUDIENCE, recipients=home_recipients, reach=home_reach)
