"""Input that used to end as an HTML 500: NUL characters, lone UTF-16 surrogates, and ids that
are not numbers. Each is refused with the API's error shape, naming what to fix."""

import pytest
from django.urls import get_resolver

pytestmark = pytest.mark.django_db

LONE_SURROGATE = '"\\ud800"'  # a JSON escape that decodes to an unpaired surrogate


def _patch_json(client, url, raw_body):
    return client.patch(url, data=raw_body, content_type="application/json")


def test_a_lone_surrogate_in_a_choice_field_is_a_400_naming_the_field(client, world):
    client.force_login(world.alice)
    response = _patch_json(client, f"/api/v1/cases/{world.case_a.pk}/", '{"priority": ' + LONE_SURROGATE + "}")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid"
    assert "priority" in body["fields"]


def test_a_nul_in_a_nested_field_names_its_path(client, world):
    client.force_login(world.alice)
    response = _patch_json(
        client, f"/api/v1/cases/{world.case_a.pk}/", '{"notes": "ok", "extra": {"list": ["fine", "bad\\u0000"]}}'
    )
    assert response.status_code == 400
    assert set(response.json()["fields"]) == {"extra.list.1"}


def test_a_lone_surrogate_is_refused_with_a_centres_key_too(client, world):
    client.force_login(world.dr_li)
    response = client.post(
        f"/api/v1/referrals/{world.referral_a.pk}/answer/",
        data='{"decision": ' + LONE_SURROGATE + "}",
        content_type="application/json",
    )
    # The referral is a draft, not shared: 404 would also be right; never a 500.
    assert response.status_code in (400, 404)
    assert response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("param", ["indication", "coordinator", "country", "q"])
def test_a_nul_in_a_filter_is_a_400_naming_the_parameter(client, world, param):
    client.force_login(world.alice)
    response = client.get("/api/v1/cases/", {param: "x\x00y"})
    assert response.status_code == 400
    assert param in response.json()["fields"]


def test_a_nul_in_the_admin_search_is_a_400_not_a_database_error(client, world):
    client.force_login(world.alice)
    response = client.get("/admin/cases/case/", {"q": "\x00"})
    assert response.status_code == 400


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/api/v1/clinical-profiles/abc/"),
        ("get", "/api/v1/referrals/abc/messages/"),
        ("get", "/api/v1/referrals/1,2/packets/1/json/"),
        ("post", "/api/v1/referrals/null,null/answer/"),
        ("post", "/api/v1/threads/null,null/messages/"),
        ("get", "/api/v1/cases/1.5/"),
    ],
)
def test_an_id_that_is_not_a_number_is_a_json_404(client, world, method, path):
    client.force_login(world.alice)
    response = getattr(client, method)(path, data={}, content_type="application/json")
    assert response.status_code == 404
    assert response.json() == {"code": "not_found", "detail": "Not found.", "fields": {}}


def test_every_api_route_with_an_id_accepts_only_numbers_or_uuids():
    """A new ViewSet that forgets the numeric lookup would let "abc" reach a lookup again."""
    api = next(p for p in get_resolver().url_patterns if str(p.pattern) == "api/v1/")
    loose = []

    def walk(patterns, prefix=""):
        for pattern in patterns:
            text = prefix + str(pattern.pattern)
            if hasattr(pattern, "url_patterns"):
                walk(pattern.url_patterns, text)
                continue
            for group in ("pk", "case", "case_id", "id"):
                marker = f"(?P<{group}>"
                if marker in text and f"{marker}[0-9]+)" not in text and f"{marker}\\d+)" not in text:
                    loose.append(text)
            if "<str:" in text or "<slug:" in text or "<path:" in text:
                loose.append(text)

    walk(api.url_patterns)
    assert loose == []
