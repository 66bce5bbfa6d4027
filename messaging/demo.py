"""A first exchange with each demo family, in their thread."""

from __future__ import annotations

from cases import workflow

from .services import message_post


def seed_case(*, case, story, rng, actor) -> None:
    if case.status in (workflow.CLOSED, workflow.DECEASED):
        return
    message_post(
        author=actor,
        case=case,
        kind="family",
        language="en",
        body="Hello, I am your coordinator. Please upload the reports listed under “Records” when you can; "
        "photos of each page are fine.",
    )
    family = case.patient.contacts.filter(user__isnull=False).first()
    if family is not None:
        message_post(
            author=family.user,
            case=case,
            kind="family",
            language=story.language,
            body="Thank you. We will send the latest bone marrow report this week.",
        )
