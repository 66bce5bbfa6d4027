import django_filters

from navigator.filters import BooleanFilter, FilterSet, IntegerFilter

from ..models import DocType, Document, DocumentRequest


class DocumentFilter(FilterSet):
    case = IntegerFilter(field_name="case_id")
    case_reference = django_filters.CharFilter(field_name="case__reference")
    doc_type = django_filters.MultipleChoiceFilter(choices=DocType.choices)
    review_status = django_filters.MultipleChoiceFilter(choices=Document.ReviewStatus.choices)
    clinical_date = django_filters.DateFromToRangeFilter(help_text="clinical_date_after / clinical_date_before")
    created = django_filters.IsoDateTimeFromToRangeFilter(field_name="created_at")
    include_in_packets = BooleanFilter()
    current = BooleanFilter(method="filter_current", help_text="Only documents not superseded.")

    class Meta:
        model = Document
        fields = ["case", "doc_type", "review_status", "include_in_packets", "source", "translation_status"]

    def filter_current(self, queryset, name, value):
        if value is None:
            return queryset
        superseded = Document.ReviewStatus.SUPERSEDED
        return queryset.exclude(review_status=superseded) if value else queryset.filter(review_status=superseded)


class DocumentRequestFilter(FilterSet):
    case = IntegerFilter(field_name="case_id")
    doc_type = django_filters.MultipleChoiceFilter(choices=DocType.choices)
    status = django_filters.MultipleChoiceFilter(choices=DocumentRequest.Status.choices)
    due = django_filters.DateFromToRangeFilter(field_name="due_date")
    overdue = BooleanFilter(method="filter_overdue")

    class Meta:
        model = DocumentRequest
        fields = ["case", "doc_type", "status"]

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        overdue = DocumentRequest.objects.overdue().values("pk")
        return queryset.filter(pk__in=overdue) if value else queryset.exclude(pk__in=overdue)
