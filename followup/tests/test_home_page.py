"""The home haematologist's page in their language (en, zh-Hans, ar right to left, ru), or in the
one they pick on the page; its form and its errors too."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone, translation

from followup.models import FollowUpResult
from followup.services import handback_create, link_issue, link_revoke

from .conftest import discharge

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english_afterwards():
    # The locale middleware leaves the language of the last request active in this thread.
    yield
    translation.activate("en")


@pytest.fixture
def handed_back(treated, world):
    handback_create(case=treated, actor=world.alice, discharge=discharge())
    link, token = link_issue(haematologist=treated.home_haematologist_contact, actor=world.alice)
    return link, token


PAGES = [
    # language, heading, direction, a standard check, a warning, a form label, the submit button
    ("en", "Handback of", "ltr", "Blood counts", "Falling blood counts", "Sample or event date", "Send result"),
    ("zh-hans", "的交接资料", "ltr", "血常规", "血细胞计数下降", "采样或事件日期", "发送结果"),
    ("ar", "ملف تسليم", "rtl", "تعداد الدم الكامل", "انخفاض تعداد الدم", "تاريخ العينة أو الحدث", "إرسال النتيجة"),
    (
        "ru",
        "Передача пациента",
        "ltr",
        "Общий анализ крови",
        "Снижение показателей крови",
        "Дата взятия образца",
        "Отправить результат",
    ),
]


@pytest.mark.parametrize("lang, heading, direction, check, warning, label, button", PAGES)
def test_the_page_is_in_the_language_picked(
    handed_back, client, lang, heading, direction, check, warning, label, button
):
    _link, token = handed_back
    page = client.get(f"/home/{token}/?lang={lang}")
    assert page.status_code == 200 and page["Content-Language"] == lang
    body = page.content.decode()
    assert f'<html lang="{lang}" dir="{direction}">' in body
    assert heading in body.split("<h1>", 1)[1].split("</h1>", 1)[0]
    for text in (check, warning, label, button):
        assert text in body
    # What the centre wrote stays as written.
    assert "CD19 CAR-T (synthetic)" in body and "ponatinib 30 mg daily" in body
    # Every language is offered, each link named in its own language.
    for code in ("en", "zh-hans", "ar", "ru"):
        assert f'href="?lang={code}" hreflang="{code}"' in body


def test_without_a_choice_the_page_is_in_the_home_haematologists_language(handed_back, client):
    _link, token = handed_back  # Dr Tan reads Chinese
    for url in (f"/home/{token}/", f"/home/{token}/?lang=xx"):
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="ru")
        assert page["Content-Language"] == "zh-hans" and "随访计划" in page.content.decode()


def test_form_errors_are_in_the_language_of_the_page(handed_back, client):
    _link, token = handed_back
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    response = client.post(f"/home/{token}/?lang=ru", {"kind": "igg", "date": tomorrow, "value": "3"})
    assert response.status_code == 400 and "Дата не может быть в будущем." in response.content.decode()
    response = client.post(f"/home/{token}/?lang=ar", {"kind": "mrd", "date": "2026-01-01", "finding": "lost"})
    assert response.status_code == 400 and "اختر واحدًا مما يلي" in response.content.decode()
    assert not FollowUpResult.objects.exists()


def test_after_posting_the_page_stays_in_the_language_picked(handed_back, client):
    link, token = handed_back
    yesterday = (timezone.localdate() - dt.timedelta(days=1)).isoformat()
    response = client.post(f"/home/{token}/?lang=ar", {"kind": "igg", "date": yesterday, "value": "5.1"})
    assert response.status_code == 302 and response["Location"] == f"/home/{token}/?posted=1&lang=ar"
    page = client.get(response["Location"])
    assert "شكرًا لك: سُجِّلت النتيجة" in page.content.decode()
    assert FollowUpResult.objects.get(case=link.case).link == link


def test_a_revoked_link_is_explained_in_the_browsers_language(handed_back, world, client):
    link, token = handed_back
    link_revoke(link=link, actor=world.alice)
    page = client.get(f"/home/{token}/", HTTP_ACCEPT_LANGUAGE="ar")
    assert page.status_code == 410
    body = page.content.decode()
    assert 'dir="rtl"' in body and "لم يعد هذا الرابط يعمل" in body


def test_labels_frozen_in_the_handback_are_shown_in_the_language_of_the_page(handed_back, client):
    _link, token = handed_back
    body = client.get(f"/home/{token}/?lang=ru").content.decode()
    assert "День 28 (Проточная цитометрия (чувствительность 10^-4)): МОБ-отрицательный" in body
    assert "Трансплантация запланирована" in body
    assert "Руководство: B-клеточная аплазия и гипогаммаглобулинемия после CAR-T при ОЛЛ" in body
