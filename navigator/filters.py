"""Query parameters of the API's lists: one strict FilterSet, the filter backend, ``updated_since``.

Every list refuses what it cannot honour, as a 400 in the one error shape naming the parameter:
a value of the wrong type (``mine=yes``, ``priority=1.5``, ``inquiry_after=tomorrow``), a value
that is not one of the documented choices, a single-valued parameter given twice, and a
parameter the list does not take at all (``?sort=name``). An empty value (``?mine=``) is the
same as leaving the parameter out, as in an HTML form. Every app's filtersets are subclasses of
``FilterSet`` below, and ``filterset_fields`` get it too (``FilterBackend.filterset_base``).
"""

from __future__ import annotations

import functools
import re

import django_filters
from django import forms
from django.db import models
from django.db.models import Q
from django.forms.utils import ErrorDict, ErrorList
from django.utils.dateparse import parse_datetime
from django_filters import filterset, utils
from django_filters.rest_framework import DjangoFilterBackend
from django_filters.widgets import SuffixedMultiWidget
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

from accounts.access import Rule, visible

# Query parameters that are not filters: the cursor pagination's, the renderer's, polling's.
NOT_FILTERS = frozenset({"cursor", "page_size", api_settings.URL_FORMAT_OVERRIDE, "updated_since"})

BOOLEAN_MESSAGE = "Give true or false."
INTEGER_MESSAGE = "Give a whole number, e.g. 42."
REPEATED_MESSAGE = "Give this parameter once."
_INTEGER = re.compile(r"-?[0-9]{1,18}")

UPDATED_SINCE = OpenApiParameter(
    "updated_since",
    OpenApiTypes.DATETIME,
    OpenApiParameter.QUERY,
    description=(
        "Only items created or changed at or after this time: an ISO 8601 date-time with its UTC "
        "offset, e.g. `2026-03-01T08:00:00Z`. Poll with the time of your previous poll "
        "(items changed in the same second may come twice; their `id` tells them apart)."
    ),
)


def updated_since(request, queryset, *fields: str):
    """``queryset`` narrowed to rows whose ``fields`` (any of them) are at or after the
    ``updated_since`` query parameter; unchanged without it. A value that is not a date-time
    with an offset is a 400 naming the parameter."""
    raw = request.query_params.get("updated_since")
    if raw is None:
        return queryset
    try:
        since = parse_datetime(raw)
    except ValueError:
        since = None
    if since is None or since.tzinfo is None:
        raise serializers.ValidationError(
            {"updated_since": ["Give a date-time with its UTC offset, e.g. 2026-03-01T08:00:00Z."]}
        )
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}__gte": since})
    return queryset.filter(condition)


def refuse_unknown_parameters(request, known) -> None:
    """A 400 naming every query parameter of ``request`` that is not in ``known``."""
    unknown = sorted(set(request.query_params) - set(known))
    if unknown:
        takes = ", ".join(sorted(known)) or "no query parameters"
        message = f"This list has no such parameter; it takes: {takes}."
        raise serializers.ValidationError({name: [message] for name in unknown})


def query_boolean(request, name: str) -> bool:
    """An action's boolean query parameter: ``true`` or ``false``, false when not given; a 400
    naming it otherwise (the same rule as a list's boolean filters)."""
    try:
        return bool(StrictBooleanField().clean(request.query_params.get(name)))
    except forms.ValidationError as exc:
        raise serializers.ValidationError({name: exc.messages}) from None


def query_integer(request, name: str) -> int:
    """An action's required whole-number query parameter (an id); a 400 naming it when it is
    missing or not a whole number."""
    try:
        value = StrictIntegerField().clean(request.query_params.get(name))
    except forms.ValidationError as exc:
        raise serializers.ValidationError({name: exc.messages}) from None
    if value is None:
        raise serializers.ValidationError({name: [INTEGER_MESSAGE]})
    return value


# --- Strict filters --------------------------------------------------------------------------


class StrictBooleanField(forms.Field):
    """Exactly ``true`` or ``false``, as OpenAPI serialises a boolean; empty means not given.

    django-filter's own boolean filters read any other word (``yes``, ``on``, ``2``) as "not
    given" and so filter nothing, silently."""

    widget = forms.Select(choices=[("", "---------"), ("true", "true"), ("false", "false")])
    values = {"true": True, "false": False}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if value not in self.values:
            raise forms.ValidationError(BOOLEAN_MESSAGE, code="invalid")
        return self.values[value]

    def validate(self, value):
        pass  # None (not given) is valid: a filter is never required


class StrictIntegerField(forms.IntegerField):
    """A whole number (``1.5`` and ``1e3`` are refused: Django's IntegerField takes both, and
    django-filter's NumberFilter reads any decimal)."""

    default_error_messages = {"invalid": INTEGER_MESSAGE}

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if not _INTEGER.fullmatch(str(value)):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return int(value)


class BooleanFilter(django_filters.BooleanFilter):
    """``true`` or ``false``; anything else is a 400 naming the parameter."""

    field_class = StrictBooleanField


@extend_schema_field(OpenApiTypes.INT)
class IntegerFilter(django_filters.NumberFilter):
    """A whole number (an id, a priority); anything else is a 400 naming the parameter."""

    field_class = StrictIntegerField


def _strict_defaults() -> dict:
    defaults = dict(filterset.FILTER_FOR_DBFIELD_DEFAULTS)
    integers = (models.AutoField, models.IntegerField, models.SmallIntegerField, models.BigIntegerField)
    for field_class in list(defaults):
        if issubclass(field_class, integers):
            defaults[field_class] = {"filter_class": IntegerFilter}
    defaults[models.BooleanField] = {"filter_class": BooleanFilter}
    defaults[models.NullBooleanField] = {"filter_class": BooleanFilter}
    defaults[models.DateTimeField] = {"filter_class": django_filters.IsoDateTimeFilter}
    return defaults


def parameter_names(filter_name: str, filter_: django_filters.Filter) -> list[str]:
    """The query parameters one filter reads: ``created`` reads ``created_after`` and
    ``created_before`` (a range), most filters their own name."""
    widget = filter_.field.widget
    if isinstance(widget, SuffixedMultiWidget):
        return [widget.suffixed(filter_name, suffix) for suffix in widget.suffixes]
    return [filter_name]


def _is_multiple(filter_: django_filters.Filter) -> bool:
    return isinstance(filter_, (django_filters.MultipleChoiceFilter, django_filters.BaseCSVFilter))


class FilterSet(django_filters.FilterSet):
    """The base of every API filterset: strict types, and errors named by query parameter.

    Model fields map to strict filters (integers to ``IntegerFilter``, booleans to
    ``BooleanFilter``, date-times to ISO 8601); a range filter's error names the parameter at
    fault (``clinical_date_after``, not the form field ``clinical_date``); a single-valued
    parameter given twice is refused rather than read as its last value.
    """

    FILTER_DEFAULTS = _strict_defaults()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        user = getattr(self.request, "user", None)
        # Messages that say what to give, not what to select in a form.
        for filter_ in self.filters.values():
            field = filter_.field
            if isinstance(field, forms.ModelChoiceField):
                model = field.queryset.model
                if user is not None and isinstance(getattr(model, "visibility", None), Rule):
                    # An id the caller may not see is answered as one that does not exist: the
                    # same 400, so a filter never tells whether someone else's case exists.
                    field.queryset = visible(field.queryset, user)
                text = f"Give the id of an existing {model._meta.verbose_name}."
                field.error_messages.update(invalid_choice=text, invalid_pk_value=text)
            elif isinstance(field, forms.ChoiceField):
                values = ", ".join(str(value) for value, _ in field.choices if value != "")
                field.error_messages["invalid_choice"] = f"Give one of: {values}."

    @property
    def errors(self):
        errors: dict[str, list] = {}
        getlist = getattr(self.data, "getlist", lambda key: [self.data[key]] if key in self.data else [])
        for name, filter_ in self.filters.items():
            for parameter in parameter_names(name, filter_):
                if not _is_multiple(filter_) and len(getlist(parameter)) > 1:
                    errors[parameter] = [forms.ValidationError(REPEATED_MESSAGE, code="invalid")]
        for name, field_errors in self.form.errors.as_data().items():
            filter_ = self.filters.get(name)
            if filter_ is None:
                errors[name] = field_errors
                continue
            field = filter_.field
            if isinstance(field, forms.MultiValueField):
                # Which of the range's parameters failed: each part cleaned on its own.
                for sub_field, parameter in zip(field.fields, parameter_names(name, filter_), strict=True):
                    try:
                        sub_field.clean(self.data.get(parameter))
                    except forms.ValidationError as exc:
                        errors.setdefault(parameter, exc.error_list)
                if any(p in errors for p in parameter_names(name, filter_)):
                    continue
            errors.setdefault(name, field_errors)
        return ErrorDict({k: ErrorList(v) for k, v in errors.items()})

    def is_valid(self):
        return self.is_bound and not self.errors


class FilterBackend(DjangoFilterBackend):
    """django-filter with the strict ``FilterSet``; a list refuses parameters it does not take.

    A list takes its filterset's parameters, its paginator's, ``format``, and the names in the
    view's ``list_query_parameters`` (e.g. ``updated_since``, applied by the view itself).

    The filterset is skipped when the request has no query parameter that could be a filter:
    building and validating the filter form costs more than half a millisecond on every list
    request; the caseload page, the most frequent request, usually comes without filters, and
    with no parameters every filter is a no-op anyway. Likewise a filter the request does not
    name is a no-op (an empty value filters nothing) and cannot be invalid: a request is
    filtered by the view's filterset cut down to the filters it names (``_named``, made once per
    set of names), which answers the same rows and the same 400s without copying, building and
    validating every other filter (about a millisecond on a filtered case list). The whole
    filterset still documents the API and shows in the browsable form.
    """

    filterset_base = FilterSet
    _known_by_view: dict[type, frozenset[str]] = {}

    def filter_queryset(self, request, queryset, view):
        if getattr(view, "action", None) == "list" and request.query_params:
            refuse_unknown_parameters(request, self.known_parameters(view, queryset))
        params = set(request.query_params) - NOT_FILTERS
        if not params:
            return queryset
        filterset_class = getattr(view, "filterset_class", None)
        if filterset_class is None:  # filterset_fields: django-filter makes a class per request
            return super().filter_queryset(request, queryset, view)
        self.get_filterset_class(view, queryset)  # its checks (the model is the queryset's)
        names = frozenset(
            name
            for name, reads in _parameters(filterset_class).items()
            if params & reads or filterset_class.base_filters[name].extra.get("required")
        )
        if not names:
            return queryset
        filterset = _named(filterset_class, names)(**self.get_filterset_kwargs(request, queryset, view))
        if not filterset.is_valid() and self.raise_exception:
            raise utils.translate_validation(filterset.errors)
        return filterset.qs

    def known_parameters(self, view, queryset) -> frozenset[str]:
        """Every query parameter the list of ``view`` takes (computed once per ViewSet)."""
        known = self._known_by_view.get(type(view))
        if known is None:
            names = {api_settings.URL_FORMAT_OVERRIDE, *getattr(view, "list_query_parameters", ())}
            if view.paginator is not None:
                names |= {p["name"] for p in view.paginator.get_schema_operation_parameters(view)}
            filterset_class = self.get_filterset_class(view, queryset)
            if filterset_class is not None:
                for name, filter_ in filterset_class.base_filters.items():
                    names.update(parameter_names(name, filter_))
            known = self._known_by_view[type(view)] = frozenset(names)
        return known


@functools.cache
def _parameters(filterset_class) -> dict[str, frozenset[str]]:
    """Each filter of ``filterset_class`` and the query parameters it reads."""
    return {name: frozenset(parameter_names(name, f)) for name, f in filterset_class.base_filters.items()}


@functools.lru_cache(maxsize=512)
def _named(filterset_class, names: frozenset[str]):
    """``filterset_class`` with only the filters in ``names`` (in their declared order)."""
    narrowed = type(filterset_class.__name__, (filterset_class,), {"__module__": filterset_class.__module__})
    narrowed.base_filters = {n: f for n, f in filterset_class.base_filters.items() if n in names}
    return narrowed
