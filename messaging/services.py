"""Posting messages and handling translations. The API, the admin and the portal all call these."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from accounts.roles import is_coordinator, is_family, is_hospital
from audit.services import audit_record
from cases.services import case_touch
from navigator import events
from navigator.errors import DomainError
from notifications.models import NoticeKind
from notifications.services import notice_coordinator, notice_family

from .models import Message, Thread, ThreadRead, TranslationRequest

MAX_BODY = 20_000


def _side_of(author) -> str:
    if author is None:
        return Message.Side.SYSTEM
    if is_coordinator(author):
        return Message.Side.COORDINATOR
    if is_hospital(author):
        return Message.Side.HOSPITAL
    if is_family(author):
        return Message.Side.FAMILY
    raise DomainError("This account cannot post messages.", code="permission_denied")


def thread_get_or_create(*, case, kind: str, hospital=None) -> Thread:
    """The case's thread with the family, or with one centre (created on first use)."""
    if kind == Thread.Kind.HOSPITAL and hospital is None:
        raise DomainError("Name the centre of this thread.", field="hospital")
    if kind == Thread.Kind.FAMILY:
        hospital = None
    thread, _created = Thread.objects.get_or_create(
        case=case,
        kind=kind,
        hospital=hospital,
        defaults={"subject": f"{case.reference} · {hospital.code if hospital else 'family'}"},
    )
    return thread


def message_post(
    *,
    author,
    body: str,
    thread: Thread | None = None,
    case=None,
    kind: str | None = None,
    hospital=None,
    language: str = "",
    attachments: Iterable = (),
    needs_translation: bool = False,
    translation_language: str = "",
    system: bool = False,
) -> Message:
    """Post a message in a thread (given, or found by case + kind + hospital).

    ``author`` must be able to read the thread; attachments must be documents of the same
    case that the author may see. ``system=True`` posts on Navigator's behalf (``author`` is
    then only recorded as the cause). A centre is told by webhook when the coordinator's side
    posts in its thread; never of its own messages, nor of Navigator's notes of its actions.
    """
    body = (body or "").strip()
    if not body:
        raise DomainError("Write a message.", field="body")
    if len(body) > MAX_BODY:
        raise DomainError(f"A message is at most {MAX_BODY} characters; attach a document instead.", field="body")
    if thread is None:
        if case is None or kind is None:
            raise DomainError("Name the thread, or the case and the kind of thread.", field="thread")
        thread = thread_get_or_create(case=case, kind=kind, hospital=hospital)
    side = Message.Side.SYSTEM if system else _side_of(author)
    if not system and not Thread.objects.visible_to(author).filter(pk=thread.pk).exists():
        raise DomainError("You cannot post in this thread.", field="thread", code="not_found")
    attachments = list(attachments)
    if attachments:
        from documents.models import Document

        ids = {getattr(d, "pk", d) for d in attachments}
        allowed = Document.objects.filter(pk__in=ids, case_id=thread.case_id)
        if not system:
            allowed = allowed & Document.objects.visible_to(author)
        found = set(allowed.values_list("pk", flat=True))
        missing = sorted(ids - found)
        if missing:
            raise DomainError(
                f"Attachments must be documents of case {thread.case}; not found: {', '.join(map(str, missing))}.",
                field="attachments",
            )
    if needs_translation and not translation_language:
        translation_language = "en" if language != "en" else "zh-hans"

    now = timezone.now()
    with transaction.atomic():
        message = Message.objects.create(
            thread=thread,
            author=author if getattr(author, "is_authenticated", False) else None,
            author_label=(author.pseudonym if getattr(author, "is_authenticated", False) else "Navigator")[:150],
            side=side,
            body=body,
            language=language,
            created_at=now,
            needs_translation=needs_translation,
            translation_language=translation_language if needs_translation else "",
        )
        if attachments:
            message.attachments.set(found)
        Thread.objects.filter(pk=thread.pk).update(last_message_at=now, message_count=F("message_count") + 1)
        if needs_translation:
            TranslationRequest.objects.create(
                case_id=thread.case_id,
                message=message,
                target_language=translation_language,
                requested_by=author if getattr(author, "is_authenticated", False) else None,
            )
        case_touch(case_id=thread.case_id, when=now)
        if side == Message.Side.COORDINATOR:
            # Who replies has read what they answer.
            thread_mark_read(thread=thread, user=author, when=now)
        audit_record(
            actor=author,
            action="create",
            obj=message,
            case=thread.case,
            detail={"thread": thread.pk, "side": side, "attachments": sorted(found) if attachments else []},
        )
        if thread.kind == Thread.Kind.FAMILY and side == Message.Side.COORDINATOR:
            notice_family(case=thread.case, kind=NoticeKind.MESSAGE, key=f"message:{message.pk}")
        elif thread.kind == Thread.Kind.FAMILY and side == Message.Side.FAMILY:
            notice_coordinator(case=thread.case, kind=NoticeKind.FAMILY_MESSAGE, key=f"message:{message.pk}")
        # The centre hears of what the coordinator's side wrote, never of its own messages or of
        # the notes Navigator posts about the centre's own actions (acknowledged, answered...).
        if thread.kind == Thread.Kind.HOSPITAL and side in (Message.Side.COORDINATOR, Message.Side.FAMILY):
            events.emit(
                event_type="message.posted",
                hospital=thread.hospital,
                data={
                    "case_reference": thread.case.reference,
                    "thread_id": thread.pk,
                    "message_id": message.pk,
                    "posted_at": now.isoformat(),
                },
            )
    return message


def thread_mark_read(*, thread: Thread, user, when=None) -> ThreadRead | None:
    """``user`` has read ``thread`` up to ``when`` (now): one row per user and thread, only ever
    moved forward, so an older page opened late does not make newer messages unread again.
    Only coordinators keep read marks here (families keep theirs on the portal)."""
    if not is_coordinator(user):
        return None
    when = when or timezone.now()
    mark, created = ThreadRead.objects.get_or_create(thread=thread, user=user, defaults={"read_at": when})
    if not created and mark.read_at < when:
        ThreadRead.objects.filter(pk=mark.pk, read_at__lt=when).update(read_at=when)
        mark.read_at = when
    return mark


def message_mark_for_translation(*, message: Message, actor, target_language: str) -> TranslationRequest:
    """Ask for a message to be translated (idempotent per message and language)."""
    if not target_language:
        raise DomainError("Choose the language to translate into.", field="target_language")
    with transaction.atomic():
        request, created = TranslationRequest.objects.get_or_create(
            message=message,
            target_language=target_language,
            status=TranslationRequest.Status.OPEN,
            defaults={"case_id": message.thread.case_id, "requested_by": actor},
        )
        Message.objects.filter(pk=message.pk).update(needs_translation=True, translation_language=target_language)
        if created:
            audit_record(
                actor=actor,
                action="update",
                obj=message,
                case=message.thread.case,
                detail={"translation_requested": target_language},
            )
    return request


def document_mark_for_translation(*, document, actor, target_language: str) -> TranslationRequest:
    """Ask for a document to be translated (idempotent per document and language)."""
    if not target_language:
        raise DomainError("Choose the language to translate into.", field="target_language")
    with transaction.atomic():
        request, created = TranslationRequest.objects.get_or_create(
            document=document,
            target_language=target_language,
            status=TranslationRequest.Status.OPEN,
            defaults={"case_id": document.case_id, "requested_by": actor},
        )
        if created:
            audit_record(actor=actor, action="update", obj=document, detail={"translation_requested": target_language})
    return request


def translation_complete(*, request: TranslationRequest, actor, body: str = "", document=None) -> TranslationRequest:
    """Link a translation: a translated text for a message (posted as a reply that points at the
    original), or a document that is the translation of the requested one."""
    with transaction.atomic():
        locked = TranslationRequest.objects.select_for_update().get(pk=request.pk)
        if locked.status != TranslationRequest.Status.OPEN:
            raise DomainError("This translation request is already closed.", code="conflict")
        original, requested = locked.message, locked.document  # exactly one is set (check constraint)
        if original is not None:
            translated = message_post(
                author=actor, body=body, thread=original.thread, language=locked.target_language, system=False
            )
            Message.objects.filter(pk=translated.pk).update(translation_of=original)
            Message.objects.filter(pk=original.pk).update(needs_translation=False)
            locked.translated_message = translated
        elif requested is not None:
            if document is None:
                raise DomainError("Choose the translated document.", field="document")
            if document.case_id != requested.case_id or document.pk == requested.pk:
                raise DomainError("The translation must be another document of the same case.", field="document")
            if getattr(document, "translation_of_id", None) not in (None, locked.document_id):
                raise DomainError("That document is the translation of another document.", field="document")
            locked.translated_document = document
        locked.status = TranslationRequest.Status.DONE
        locked.completed_at = timezone.now()
        locked.save(update_fields=["status", "completed_at", "translated_message", "translated_document"])
        audit_record(actor=actor, action="update", obj=locked, case=locked.case, detail={"translated": True})
    return locked
