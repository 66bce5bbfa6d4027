"""A referral shares its case with its centre exactly while its status is shared
(``Referral.SHARED_STATUSES``): every path that writes a referral keeps ``CaseShare`` right,
and the case rule (``cases.access``) reads only the shares."""

import importlib

import pytest
from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from cases.models import Case, CaseShare, Patient
from cases.services import case_shares_sync
from hospitals.factories import ReferralFactory
from hospitals.models import Referral
from hospitals.services.referrals import referral_create, referral_send, referral_withdraw


def _active(referral):
    return list(CaseShare.objects.active().filter(source_id=referral.pk, source_type="hospitals.referral"))


def _centre_sees(user):
    return list(Case.objects.visible_to(user))


def test_a_draft_referral_is_not_shared(world):
    Referral.objects.filter(pk=world.referral_a.pk).update(status=Referral.Status.DRAFT)
    assert list(Case.objects.visible_to(world.dr_li)) == []


def test_a_withdrawn_referral_is_no_longer_shared_but_a_declined_one_is(world):
    Referral.objects.filter(pk=world.referral_a.pk).update(
        status=Referral.Status.WITHDRAWN, withdraw_reason="Family chose another centre"
    )
    assert list(Case.objects.visible_to(world.dr_li)) == []
    assert list(Patient.objects.visible_to(world.dr_li)) == []
    Referral.objects.filter(pk=world.referral_a.pk).update(
        status=Referral.Status.DECLINED, decline_reason="CD19-negative relapse"
    )
    assert list(Case.objects.visible_to(world.dr_li)) == [world.case_a]
    assert set(Referral.SHARED_STATUSES).isdisjoint(Referral.UNSHARED_STATUSES)
    assert set(Referral.SHARED_STATUSES) | set(Referral.UNSHARED_STATUSES) == set(Referral.Status.values)


def test_a_draft_elsewhere_does_not_hide_a_sent_referral(world):
    Referral.objects.create(case=world.case_a, hospital=world.ruijin, status=Referral.Status.DRAFT)
    assert list(Case.objects.visible_to(world.dr_li)) == [world.case_a]
    assert list(Case.objects.visible_to(world.dr_wang)) == []


def test_sending_grants_a_share_withdrawing_revokes_it_and_sending_again_grants_a_new_one(world):
    referral = referral_create(case=world.case_b, hospital=world.ruijin, actor=world.alice)
    assert _active(referral) == [] and _centre_sees(world.dr_wang) == []

    referral_send(referral=referral, actor=world.alice)
    [share] = _active(referral)
    assert (share.case_id, share.party_kind, share.party_id) == (world.case_b.pk, "centre", world.ruijin.pk)
    assert (share.source_type, share.source_id) == ("hospitals.referral", referral.pk)
    assert _centre_sees(world.dr_wang) == [world.case_b]

    referral_withdraw(referral=referral, actor=world.alice, reason="Family chose another centre")
    assert _active(referral) == [] and _centre_sees(world.dr_wang) == []
    share.refresh_from_db()
    assert share.revoked_at is not None  # who could see the case, and until when, stays answerable

    referral_send(referral=referral, actor=world.alice, reason="New CD19 result")
    [again] = _active(referral)
    assert again.pk != share.pk
    assert _centre_sees(world.dr_wang) == [world.case_b]


def test_saving_a_referral_keeps_its_share(world):
    referral = world.referral_a
    referral.status = Referral.Status.WITHDRAWN
    referral.save()
    assert _active(referral) == []
    referral.status = Referral.Status.ACCEPTED
    referral.save(update_fields=["status"])
    assert len(_active(referral)) == 1
    referral.cover_note = "Only a note changed"
    referral.save(update_fields=["cover_note"])
    assert len(_active(referral)) == 1


def test_moving_a_referral_to_another_case_moves_its_share(world):
    Referral.objects.filter(pk=world.referral_a.pk).update(case=world.case_b)
    [share] = _active(world.referral_a)
    assert share.case_id == world.case_b.pk
    assert _centre_sees(world.dr_li) == [world.case_b]
    assert CaseShare.objects.filter(case=world.case_a, revoked_at__isnull=False).count() == 1


def test_bulk_writes_keep_shares_right(world):
    created = Referral.objects.bulk_create(
        [
            Referral(case=world.case_b, hospital=world.ruijin, status=Referral.Status.SENT),
            Referral(case=world.case_b, hospital=world.pkuph, status=Referral.Status.DRAFT),
        ]
    )
    assert _centre_sees(world.dr_wang) == [world.case_b]
    assert _centre_sees(world.dr_li) == [world.case_a]
    for referral in created:
        referral.status = Referral.Status.WITHDRAWN if referral.hospital == world.ruijin else Referral.Status.SENT
    Referral.objects.bulk_update(created, ["status"])
    assert _centre_sees(world.dr_wang) == []
    assert set(_centre_sees(world.dr_li)) == {world.case_a, world.case_b}


def test_deleting_a_referral_revokes_the_shares_it_granted(world):
    [share] = _active(world.referral_a)
    world.referral_a.delete()
    assert _centre_sees(world.dr_li) == []
    share.refresh_from_db()
    assert share.revoked_at is not None
    other = ReferralFactory(case=world.case_b, hospital=world.ruijin)
    assert _centre_sees(world.dr_wang) == [world.case_b]
    Referral.objects.filter(pk=other.pk).delete()
    assert _centre_sees(world.dr_wang) == []


def test_one_source_grants_at_most_one_active_share(world):
    [share] = _active(world.referral_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        CaseShare.objects.create(
            case=world.case_b,
            party_kind=share.party_kind,
            party_id=share.party_id,
            source_type=share.source_type,
            source_id=share.source_id,
        )


def test_syncing_twice_changes_nothing(world):
    grant = (world.case_a.pk, CaseShare.Party.CENTRE, world.pkuph.pk)
    before = list(CaseShare.objects.values_list("pk", "revoked_at"))
    case_shares_sync(source_model=Referral, grants={world.referral_a.pk: grant})
    case_shares_sync(source_model=Referral, grants={world.referral_a.pk: grant})
    assert list(CaseShare.objects.values_list("pk", "revoked_at")) == before


def test_the_migration_shares_every_referral_in_a_shared_status_and_no_other(world):
    draft = ReferralFactory(case=world.case_b, hospital=world.ruijin, status=Referral.Status.DRAFT)
    withdrawn = ReferralFactory(case=world.case_b, hospital=world.pkuph, status=Referral.Status.WITHDRAWN)
    CaseShare.objects.all().delete()
    migration = importlib.import_module("hospitals.migrations.0007_referral_case_shares")
    with connection.schema_editor() as editor:
        migration.grant_shares(apps, editor)
        migration.grant_shares(apps, editor)  # running it again adds nothing
    assert [s.source_id for s in CaseShare.objects.active()] == [world.referral_a.pk]
    [share] = CaseShare.objects.all()
    assert share.granted_at <= timezone.now()
    assert _active(draft) == [] and _active(withdrawn) == []
    assert set(migration.SHARED_STATUSES) == set(Referral.SHARED_STATUSES)
