"""The coordinator's reads at 100,000 cases, in-process, against an authenticated baseline.

The baseline is the fastest reasonable way to answer the same request: a view behind the same
middleware that finds the same signed-in user (session from Redis, user row), reads the same
columns as the API's list with one ``.values()`` query and writes them with orjson. Every row
below alternates with it over several rounds (see ``common.interleaved``).

Measured: the case list API page, filtered; the search (by reference, a name that matches
nothing, a rare name, a common surname shared by about 5,000 patients); the admin changelist,
a case's admin page (its header and section headings: a section's body is rendered when it is
opened) and two of its sections on their own URLs, the overview (timeline and contacts) and travel
(the largest). Queries and Redis round trips of each are in the notes.

The searches by reference, by a name that matches nothing and by a rare name are also timed
against themselves on a second database of 1,000 cases (``…_bench_small``, kept between runs like
the first): a search that reads indexes is flat from 1,000 to 100,000 cases.

    .venv/bin/python bench/bench_case_list.py            # 100,000 cases
    .venv/bin/python bench/bench_case_list.py --quick    # 10,000 cases
"""

from __future__ import annotations

import argparse

try:
    from bench import common
except ModuleNotFoundError:  # run as a script
    import common  # type: ignore[no-redef]

RARE_NAME = "Oyelaran"
MISSING_NAME = "Zzyxwv"
# "Flat from 1,000 to 100,000 cases": the same search at 100 times the cases within this ratio.
SMALL = 1_000
FLAT = 1.25


def _fields():
    # The same columns the API's list reads, so both sides fetch the same data.
    from cases.api.serializers import CaseListSerializer

    return CaseListSerializer.VALUES


def baseline_view(request):
    """One authenticated page: the same user lookup as the API, one query, no serializers."""
    import orjson
    from django.http import HttpResponse

    from cases.models import Case

    if not request.user.is_authenticated:
        return HttpResponse(status=403)
    rows = list(Case.objects.order_by("-id").values(*_fields())[:50])
    return HttpResponse(orjson.dumps({"results": rows}), content_type="application/json")


urlpatterns = []


def _urls():
    from django.urls import include, path

    global urlpatterns
    urlpatterns = [path("bench/baseline/", baseline_view), path("", include("navigator.urls"))]


def _prepare(target: int):
    from django.db import connection
    from django.db.models import Count

    from cases.demo import seed_bulk
    from cases.factories import CaseFactory, PatientFactory
    from cases.models import Case, Patient

    have = Case.objects.count()
    if have < target:
        seed_bulk(count=target - have)
    # A rare name: three patients among the 100,000 (seed_bulk's surnames are each shared by ~5%).
    rare = Patient.objects.filter(family_name=RARE_NAME).count()
    for _ in range(3 - rare):
        CaseFactory(patient=PatientFactory(given_name="Adaeze", family_name=RARE_NAME, native_name="Оеларан"))
    with connection.cursor() as cursor:
        # As autovacuum keeps a live database: planner statistics, and the visibility map that lets
        # a capped count read an index alone (a table seeded a moment ago has none yet).
        cursor.execute("VACUUM ANALYZE")
    # The most common surname (seed_bulk gives each of its surnames to about 5% of patients).
    return Patient.objects.values("family_name").annotate(n=Count("id")).order_by("-n")[0]["family_name"]


def run(quick: bool = False) -> list[dict]:
    common.setup_django()
    from django.db import connection
    from django.test import Client, override_settings

    from cases.models import Case

    target = 10_000 if quick else 100_000
    common_name = _prepare(target)
    user = common.bench_user("case_list")
    _urls()
    client = Client()
    client.force_login(user)
    repeat = 5 if quick else 15
    rounds = common.ROUNDS
    n = Case.objects.count()
    reference = Case.objects.order_by("id").values_list("reference", flat=True)[n // 2]
    case_id = Case.objects.order_by("id").values_list("pk", flat=True)[n // 2]
    common_count = Case.objects.filter(patient__family_name=common_name).count()

    def get(url):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        return response

    baseline_url = "/bench/baseline/"
    measured = [
        ("case list API, page of 50", "/api/v1/cases/", 1.5),
        # No goal of its own: a filtered page also counts its first 1,001 matches (its total), which
        # the unfiltered baseline never does; the goal of 1.5 is the unfiltered page's.
        ("case list API, filtered by status", "/api/v1/cases/?status=in_treatment", None),
        ("search: reference (lower case)", f"/api/v1/cases/?q={reference.lower()}", 3),
        ("search: a name that matches nothing", f"/api/v1/cases/?q={MISSING_NAME}", 3),
        (f"search: a rare name (3 patients), {RARE_NAME}", f"/api/v1/cases/?q={RARE_NAME}", 3),
        (f"search: a common surname ({common_count:,} cases)", f"/api/v1/cases/?q={common_name}", 6),
        ("admin changelist, page of 50", "/admin/cases/case/", 8),
        ("admin changelist, searched by surname", f"/admin/cases/case/?q={common_name}", None),
        ("admin case page (change form)", f"/admin/cases/case/{case_id}/change/", 15),
        ("admin case page: overview section", f"/admin/cases/case/{case_id}/section/overview/", None),
        ("admin case page: travel section", f"/admin/cases/case/{case_id}/section/travel/", None),
    ]
    # The same searches on a database of 1,000 cases: a search that reads indexes takes about
    # as long at 100,000 (the goal: flat from 1,000 to 100,000 cases).
    big, small = connection.settings_dict["NAME"], common.second_database("_small")
    with common.on_database(small):
        _prepare(SMALL)
        small_client = Client()
        small_client.force_login(common.bench_user("case_list"))
        small_n = Case.objects.count()
        small_reference = Case.objects.order_by("id").values_list("reference", flat=True)[small_n // 2]
    scaling = [
        ("reference (lower case)", reference.lower(), small_reference.lower()),
        ("a name that matches nothing", MISSING_NAME, MISSING_NAME),
        ("a rare name", RARE_NAME, RARE_NAME),
    ]

    def get_small(url):
        response = small_client.get(url)
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        return response

    results = []
    with override_settings(ROOT_URLCONF=__name__, DEBUG=False, SECURE_SSL_REDIRECT=False):
        base_q, base_r = common.round_trips(lambda: get(baseline_url))
        base_sample = None
        for name, url, goal in measured:
            # The slow pages get fewer calls a round (still five rounds): their medians settle sooner.
            calls = repeat if url.startswith("/api/") else max(3, repeat // 3)
            sample = common.interleaved(lambda u=url: get(u), lambda: get(baseline_url), rounds=rounds, repeat=calls)
            queries, redis = common.round_trips(lambda u=url: get(u))
            results.append(
                common.sample_row(name, sample, notes=f"{queries} queries, {redis} Redis round trips", goal=goal)
            )
            base_sample = base_sample or sample
        for label, at_big, at_small in scaling:
            sample = common.interleaved(
                lambda q=at_big: get(f"/api/v1/cases/?q={q}"),
                lambda q=at_small: get_small(f"/api/v1/cases/?q={q}"),
                rounds=rounds,
                repeat=repeat,
                before_value=lambda: common.switch(big),
                before_baseline=lambda: common.switch(small),
            )
            common.switch(big)
            results.append(
                common.sample_row(
                    f"search, {n:,} vs {small_n:,} cases: {label}",
                    sample,
                    notes=f"baseline: the same search on a database of {small_n:,} cases",
                    goal=FLAT,
                )
            )
        results.insert(
            0,
            common.row(
                f"baseline: authenticated .values()+orjson page, {n:,} cases",
                base_sample.baseline * 1000,
                base_sample.baseline * 1000,
                "ms",
                f"{base_q} queries, {base_r} Redis round trips (session, user, page)",
            ),
        )
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    common.print_table(run(quick=parser.parse_args().quick))
