"""Who may see what, declared: the vocabulary models use and the one dispatcher that applies it.

Every model that holds case data declares, in a ``visibility`` attribute, how its rows reach
their case and how each role's view is narrowed further::

    class Document(models.Model):
        visibility = CaseRows("case", hospital=Q(include_in_packets=True))

``visible(queryset, user)`` applies the declaration for the user's role
(``accounts.roles.role_of``; no role, no rows). ``Model.objects.visible_to(user)``
(``VisibleQuerySet``), the API base ViewSets, the admin base class (``navigator.admin``) and
the portal all go through it. Which cases a user sees at all is the case rule in
``cases.access``, which the cases app plugs in (``use_case_rule``). A guard test fails when a
model that reaches a case declares nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db import models
from django.db.models import Q

from accounts.roles import Role, role_of

# A role's extra narrowing: a filter, a function of the user giving one, NOBODY, or None (none).
Narrowing = Q | Callable[..., Q] | None


class _Nobody:
    def __repr__(self) -> str:
        return "NOBODY"


NOBODY = _Nobody()
"""A role's narrowing that leaves nothing: the role sees none of these rows."""


def _and(condition, extra):
    """Both conditions; ``None`` means every row, ``NOBODY`` no row."""
    if condition is NOBODY or extra is NOBODY:
        return NOBODY
    if condition is None:
        return extra
    if extra is None:
        return condition
    return condition & extra


class Rule:
    """How one model's rows are visible, and how each role's view is narrowed further
    (``coordinator=``, ``family=``, ``hospital=``: a ``Q``, a function of the user giving a
    ``Q``, or ``NOBODY``). ``condition`` answers ``None`` (every row), ``NOBODY`` or a ``Q``."""

    def __init__(self, *, coordinator: Narrowing = None, family: Narrowing = None, hospital: Narrowing = None):
        self.narrowings = {Role.COORDINATOR: coordinator, Role.FAMILY: family, Role.HOSPITAL: hospital}

    def condition(self, model, user, role: Role):
        return _and(self.reach(model, user, role), self.narrowing(user, role))

    def reach(self, model, user, role: Role):
        raise NotImplementedError

    def narrowing(self, user, role: Role):
        value = self.narrowings[role]
        return value(user) if callable(value) else value


_case_rule: Callable | None = None


def use_case_rule(rule: Callable) -> None:
    """Plug in the rule of which cases a user sees: ``rule(user, role)`` answers a subquery of
    case ids, or ``None`` for every case. Called once, by the cases app when it is ready."""
    global _case_rule
    _case_rule = rule


def visible_case_ids(user, role: Role):
    if _case_rule is None:
        raise RuntimeError("No case rule: the cases app is not installed or not ready.")
    return _case_rule(user, role)


class CaseRows(Rule):
    """Rows of a case, reached through ``path``: ``""`` for Case itself, ``"case"``,
    ``"milestone__case"``, or a to-many path such as ``"cases"`` for a patient."""

    def __init__(self, path: str = "case", **narrowing):
        super().__init__(**narrowing)
        self.path = path

    def reach(self, model, user, role: Role):
        ids = visible_case_ids(user, role)
        if ids is None:
            return None
        cases = Q(**{f"{self.path}__pk__in" if self.path else "pk__in": ids})
        if _crosses_to_many(model, self.path):
            # Through a to-many relation a join would repeat rows: narrow by a subquery.
            return Q(pk__in=model._base_manager.filter(cases).values("pk"))
        return cases


class Via(Rule):
    """Rows visible when the row they belong to is (a message with its thread, a packet with
    its referral): the related model's rule decides."""

    def __init__(self, relation: str, **narrowing):
        super().__init__(**narrowing)
        self.relation = relation

    def reach(self, model, user, role: Role):
        relation = model._meta.get_field(self.relation)
        related = relation.related_model
        inner = rule_for(related).condition(related, user, role)
        if inner is NOBODY:
            return NOBODY
        if inner is None and not relation.null:
            return None
        rows = related._base_manager.all()
        return Q(**{f"{self.relation}__in": rows if inner is None else rows.filter(inner)})


class CentreRows(Rule):
    """Rows that belong to a centre rather than to a case (the centre itself, its API keys,
    webhooks, referrals): coordinators see every centre's, hospital staff their own centre's
    (``field`` holds its id), families none."""

    def __init__(self, field: str = "hospital_id", *, family: Narrowing = NOBODY, **narrowing):
        super().__init__(family=family, **narrowing)
        self.field = field

    def reach(self, model, user, role: Role):
        return Q(**{self.field: user.hospital_id}) if role is Role.HOSPITAL else None


class StaffOnly(Rule):
    """Coordinators' work (the audit trail, erasures, invitations, translation requests,
    field history): coordinators see every row, nobody else any."""

    def __init__(self):
        super().__init__(family=NOBODY, hospital=NOBODY)

    def reach(self, model, user, role: Role):
        return None


class OwnRows(Rule):
    """Rows that belong to one user (a calendar link): coordinators see every row, anyone else
    only their own (``field`` names the owner)."""

    def __init__(self, field: str = "user"):
        super().__init__()
        self.field = field

    def reach(self, model, user, role: Role):
        return None if role is Role.COORDINATOR else Q(**{self.field: user})


FIELD_HISTORY = StaffOnly()
"""The rule of django-simple-history's tables: the earlier values of a record are staff work."""


def rule_for(model) -> Rule:
    """The model's declared rule. Undeclared models are refused (a guard test keeps it so)."""
    rule = getattr(model, "visibility", None)
    if isinstance(rule, Rule):
        return rule
    if getattr(model, "instance_type", None) is not None and hasattr(model, "history_id"):
        return FIELD_HISTORY
    raise LookupError(f"{model._meta.label} declares no visibility rule (see accounts.access).")


def visible(queryset, user):
    """The rows of ``queryset`` that ``user`` may see: the one dispatcher."""
    role = role_of(user)
    if role is None:
        return queryset.none()
    condition = rule_for(queryset.model).condition(queryset.model, user, role)
    if condition is NOBODY:
        return queryset.none()
    return queryset if condition is None else queryset.filter(condition)


class VisibleQuerySet(models.QuerySet):
    """The base of every queryset holding case data: ``objects.visible_to(user)``."""

    def visible_to(self, user):
        return visible(self, user)


def _crosses_to_many(model, path: str) -> bool:
    for name in path.split("__") if path else ():
        relation = model._meta.get_field(name)
        if relation.one_to_many or relation.many_to_many:
            return True
        model = relation.related_model
    return False
