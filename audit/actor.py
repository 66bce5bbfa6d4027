"""Who did something: the one actor type services take apart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

SYSTEM = "system"


@dataclass(frozen=True)
class Actor:
    """The author of a change or a read: a signed-in user, or a named system task.

    Services accept ``actor`` as whatever their caller has (a ``User``, an anonymous user,
    a task name such as ``"scheduling.sweep"``, or ``None``); ``Actor.of`` turns it into
    the fields rows store: the user to link (``None`` for a task), a label that survives
    the user's deletion (the user's pseudonym: staff by user name, a family member never by
    theirs, which is often their name), and a role.
    """

    user: Any  # accounts.User | None
    label: str
    role: str

    @classmethod
    def of(cls, actor: Any) -> Actor:
        if isinstance(actor, Actor):
            return actor
        if actor is not None and getattr(actor, "is_authenticated", False):
            return cls(user=actor, label=actor.pseudonym[:150], role=actor.role_label)
        return cls(user=None, label=str(actor or SYSTEM)[:150], role=SYSTEM)

    @property
    def is_user(self) -> bool:
        return self.user is not None
