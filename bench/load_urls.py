"""The URLs gunicorn serves in ``bench_load``: the application's, plus the baseline.

The baseline answers what the case list answers, as cheaply as it reasonably can: it finds
the caller by the same API token (one query, as DRF's TokenAuthentication does), reads the
list's columns with one ``.values()`` query and writes them with orjson. Used only by the
benchmark's own server (``bench/load_wsgi.py``), never by the application.
"""

import orjson
from django.http import HttpResponse
from django.urls import include, path


def baseline(request):
    from rest_framework.authtoken.models import Token

    from cases.api.serializers import CaseListSerializer
    from cases.models import Case

    key = request.headers.get("Authorization", "").removeprefix("Token ").strip()
    token = Token.objects.select_related("user").filter(key=key).first()
    if token is None or not token.user.is_active:
        return HttpResponse(status=401)
    rows = list(Case.objects.order_by("-id").values(*CaseListSerializer.VALUES)[:50])
    return HttpResponse(orjson.dumps({"results": rows}), content_type="application/json")


urlpatterns = [path("bench/baseline/", baseline), path("", include("navigator.urls"))]
