"""One page (50 rows) of the case list with 100,000 cases: the API and the admin
changelist against a hand-written baseline (``.values()`` + orjson) in the same run.

    .venv/bin/python bench/bench_case_list.py            # 100,000 cases
    .venv/bin/python bench/bench_case_list.py --quick    # 10,000 cases
"""

from __future__ import annotations

import argparse

try:
    from bench import common
except ModuleNotFoundError:  # run as a script
    import common  # type: ignore[no-redef]


def _fields():
    # The same columns the API's list reads, so both sides fetch the same data.
    from cases.api.serializers import CaseListSerializer

    return CaseListSerializer.VALUES


def baseline_view(request):
    """The fastest reasonable way to return the same page: one query, no serializers."""
    import orjson
    from django.http import HttpResponse

    from cases.models import Case

    rows = list(Case.objects.order_by("-id").values(*_fields())[:50])
    return HttpResponse(orjson.dumps({"results": rows}), content_type="application/json")


urlpatterns = []


def _urls():
    from django.urls import include, path

    global urlpatterns
    urlpatterns = [path("bench/baseline/", baseline_view), path("", include("navigator.urls"))]


def run(quick: bool = False) -> list[dict]:
    common.setup_django()
    from django.db import connection
    from django.test import Client, override_settings
    from django.test.utils import CaptureQueriesContext

    from accounts.models import User
    from cases.demo import seed_bulk
    from cases.models import Case

    target = 10_000 if quick else 100_000
    have = Case.objects.count()
    if have < target:
        seed_bulk(count=target - have)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    user, _ = User.objects.get_or_create(
        username="bench.coordinator", defaults={"role": User.Role.COORDINATOR, "is_staff": True}
    )
    _urls()
    client = Client()
    client.force_login(user)
    repeat = 10 if quick else 25
    results = []
    with override_settings(ROOT_URLCONF=__name__, DEBUG=False, SECURE_SSL_REDIRECT=False):

        def get(url):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            return response

        def queries(url):
            with CaptureQueriesContext(connection) as ctx:
                get(url)
            return len(ctx.captured_queries)

        base = common.timed(lambda: get("/bench/baseline/"), repeat=repeat)
        api = common.timed(lambda: get("/api/v1/cases/"), repeat=repeat)
        deep = common.timed(lambda: get("/api/v1/cases/?status=in_treatment&mine=false"), repeat=repeat)
        admin = common.timed(lambda: get("/admin/cases/case/"), repeat=repeat)
        n = Case.objects.count()
        results.append(
            common.row(
                f"case list baseline (.values+orjson), {n} cases",
                base * 1000,
                base * 1000,
                "ms",
                f"{queries('/bench/baseline/')} queries",
            )
        )
        results.append(
            common.row(
                "case list API, page of 50",
                api * 1000,
                base * 1000,
                "ms",
                f"{queries('/api/v1/cases/')} queries (user, page, audit insert)",
            )
        )
        results.append(
            common.row(
                "case list API filtered by status",
                deep * 1000,
                base * 1000,
                "ms",
                f"{queries('/api/v1/cases/?status=in_treatment')} queries",
            )
        )
        results.append(
            common.row(
                "admin changelist, page of 50",
                admin * 1000,
                base * 1000,
                "ms",
                f"{queries('/admin/cases/case/')} queries",
            )
        )
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    common.print_table(run(quick=parser.parse_args().quick))
