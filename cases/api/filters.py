import django_filters
from django.db.models import Q
from django.utils import timezone

from navigator.filters import BooleanFilter, FilterSet, IntegerFilter

from .. import workflow
from ..models import Case, FamilyContact, Patient
from ..selectors import case_search


class CaseFilter(FilterSet):
    # distinct=False: a case has one status, and DISTINCT would make PostgreSQL sort the whole match.
    status = django_filters.MultipleChoiceFilter(
        choices=[(s, workflow.LABELS[s]) for s in workflow.TRANSITIONS], distinct=False
    )
    coordinator = django_filters.CharFilter(field_name="coordinator__username", help_text="Coordinator's username.")
    mine = BooleanFilter(method="filter_mine", help_text="Only the caller's own caseload.")
    country = django_filters.CharFilter(field_name="patient__country", help_text="ISO 3166-1 alpha-2 code.")
    overdue = BooleanFilter(method="filter_overdue", help_text="Cases with an overdue item.")
    priority = IntegerFilter()
    q = django_filters.CharFilter(method="filter_q", help_text="Reference or patient name (any script).")
    inquiry_after = django_filters.DateFilter(field_name="inquiry_date", lookup_expr="gte")
    inquiry_before = django_filters.DateFilter(field_name="inquiry_date", lookup_expr="lte")

    class Meta:
        model = Case
        fields = ["status", "coordinator", "country", "priority"]

    def filter_mine(self, queryset, name, value):
        return queryset.filter(coordinator=self.request.user) if value else queryset

    def filter_overdue(self, queryset, name, value):
        now = timezone.now()
        if value:
            return queryset.filter(next_due_at__lt=now)
        return queryset.filter(Q(next_due_at__isnull=True) | Q(next_due_at__gte=now))

    def filter_q(self, queryset, name, value):
        return case_search(queryset=queryset, text=value)


class PatientFilter(FilterSet):
    country = django_filters.CharFilter()
    name = django_filters.CharFilter(method="filter_name")

    class Meta:
        model = Patient
        fields = ["country", "sex"]

    def filter_name(self, queryset, name, value):
        return queryset.filter(
            Q(family_name__icontains=value) | Q(given_name__icontains=value) | Q(native_name__icontains=value)
        )


class ContactFilter(FilterSet):
    class Meta:
        model = FamilyContact
        fields = ["patient", "relationship", "language"]
