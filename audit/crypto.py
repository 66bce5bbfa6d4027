"""Crypto-shredding: free text that must stay with an append-only record is sealed per case.

``seal`` encrypts with the case's own key (``audit.CaseKey``, made on first use); ``unseal``
reads it back while the key exists; ``shred`` deletes the key when the case is erased, after
which every sealed value of that case is noise. Fernet (AES-128-CBC with HMAC-SHA256, from the
``cryptography`` library) authenticates as well as encrypts: a tampered value does not open.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken
from django.db import IntegrityError, transaction

from .models import CaseKey

PREFIX = "sealed:v1:"
UNREADABLE = "[erased]"


def _key(case_id: int, *, create: bool) -> bytes | None:
    row = CaseKey.objects.filter(case_id=case_id).values_list("key", flat=True).first()
    if row is not None or not create:
        return bytes(row) if row is not None else None
    try:
        with transaction.atomic():
            CaseKey.objects.create(case_id=case_id, key=Fernet.generate_key())
    except IntegrityError:  # made at the same moment by another writer: use theirs
        pass
    return bytes(CaseKey.objects.values_list("key", flat=True).get(case_id=case_id))


def seal(*, case_id: int, text: str) -> str:
    """The text encrypted with the case's key, marked so readers know to open it."""
    if not text:
        return text
    return PREFIX + Fernet(_key(case_id, create=True)).encrypt(text.encode()).decode()


def is_sealed(value) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def unseal(*, case_id: int | None, value):
    """The plain text of a sealed value; ``[erased]`` once the case's key is gone."""
    if not is_sealed(value):
        return value
    key = _key(case_id, create=False) if case_id is not None else None
    if key is None:
        return UNREADABLE
    try:
        return Fernet(key).decrypt(value[len(PREFIX) :].encode()).decode()
    except InvalidToken:
        return UNREADABLE


def shred(*, case_id: int) -> bool:
    """Destroy the case's key; returns whether there was one."""
    deleted, _ = CaseKey.objects.filter(case_id=case_id).delete()
    return bool(deleted)
