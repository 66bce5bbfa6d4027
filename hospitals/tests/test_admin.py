import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from hospitals.models import ApiCredential, PacketVersion, Referral, RequiredRecord

from .conftest import api

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(world):
    client = Client()
    client.force_login(world.alice)
    return client


def test_the_referral_pipeline_keeps_a_constant_number_of_queries(world, admin_client):
    from cases.factories import CaseFactory

    def count():
        with CaptureQueriesContext(connection) as ctx:
            assert admin_client.get("/admin/hospitals/referral/?status__exact=sent").status_code == 200
        return len(ctx.captured_queries)

    count()  # the first page also works out the sidebar's list, which is then kept a while
    few = count()
    for _ in range(10):
        Referral.objects.create(case=CaseFactory(), hospital=world.ruijin, status="sent", sent_at=timezone.now())
    assert count() == few
    assert admin_client.get("/admin/hospitals/referral/?deadline=overdue").status_code == 200


def test_the_packet_builder_shows_what_is_missing_and_sends(packet_world, admin_client):
    w = packet_world
    RequiredRecord.objects.create(hospital=w.pkuph, doc_type="csf_cns", note="CSF cytology")
    url = f"/admin/hospitals/referral/{w.referral.pk}/packet-builder/"
    page = admin_client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "CNS status (CSF results)" in html and "Needed:" in html
    refused = admin_client.post(url, {"documents": [w.cd19.pk], "send": "1"})
    assert refused.status_code == 200 and "requires records still missing" in refused.content.decode()
    sent = admin_client.post(url, {"documents": [w.cd19.pk], "send": "1", "allow_missing": "1"})
    assert sent.status_code == 302
    packet = PacketVersion.objects.get(referral=w.referral)
    assert packet.document_ids == [w.cd19.pk]
    w.referral.refresh_from_db()
    assert w.referral.status == "sent"


def test_a_key_issued_in_the_admin_is_shown_once_and_works(world, admin_client):
    response = admin_client.post(
        "/admin/hospitals/apicredential/add/", {"hospital": world.pkuph.pk, "label": "HIS"}, follow=True
    )
    assert response.status_code == 200
    token = re.search(r"nvk_[0-9a-f]{16}_[\w-]+", response.content.decode()).group(0)
    assert api(token=token).get("/api/v1/referrals/").status_code == 200
    cred = ApiCredential.objects.get()
    page = admin_client.get(f"/admin/hospitals/apicredential/{cred.pk}/change/").content.decode()
    assert token not in page
    admin_client.post(
        "/admin/hospitals/apicredential/", {"action": "revoke", "_selected_action": [cred.pk]}, follow=True
    )
    assert api(token=token).get("/api/v1/referrals/").status_code == 401


def test_the_packet_builder_says_what_sending_does_to_the_deadline(packet_world, admin_client):
    import datetime as dt

    from django.contrib.messages import get_messages

    w = packet_world
    url = f"/admin/hospitals/referral/{w.referral.pk}/packet-builder/"
    assert f"answer time of {w.pkuph.response_days} days from sending" in admin_client.get(url).content.decode()
    chosen = timezone.now() + dt.timedelta(days=20)
    Referral.objects.filter(pk=w.referral.pk).update(response_due_at=chosen)
    assert "the deadline you set is kept" in admin_client.get(url).content.decode()
    sent = admin_client.post(url, {"documents": [w.cd19.pk], "send": "1", "allow_missing": "1"})
    [message] = [str(m) for m in get_messages(sent.wsgi_request)]
    assert f"{chosen:%Y-%m-%d %H:%M} UTC (the deadline you set is kept)" in message
    w.referral.refresh_from_db()
    assert w.referral.response_due_at == chosen
