"""The one base class of every admin page and inline that shows case data."""

from __future__ import annotations

from accounts.access import visible
from audit.mixins import AuditedAdminMixin


class VisibleAdmin(AuditedAdminMixin):
    """Shows only the rows the signed-in user may see (the model's declared rule, applied by
    ``accounts.access.visible``), and records every read and change (``AuditedAdminMixin``).

    Put it first, before the Django class it completes::

        class DocumentAdmin(VisibleAdmin, admin.ModelAdmin): ...
        class CaseAdmin(VisibleAdmin, SimpleHistoryAdmin): ...
        class DocumentInline(VisibleAdmin, admin.TabularInline): ...

    A row another user may not see is absent from lists and answers "not found" on its page.
    """

    def get_queryset(self, request):
        return visible(super().get_queryset(request), request.user)
