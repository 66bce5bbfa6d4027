from cases.models import Case, FamilyContact, Patient
from hospitals.models import Referral


def test_coordinators_see_every_case(world):
    assert set(Case.objects.visible_to(world.alice)) == {world.case_a, world.case_b}


def test_a_family_sees_only_its_own_case(world):
    assert list(Case.objects.visible_to(world.ivanova)) == [world.case_a]
    assert list(Case.objects.visible_to(world.chen)) == [world.case_b]
    assert list(Patient.objects.visible_to(world.chen)) == [world.patient_b]
    assert list(FamilyContact.objects.visible_to(world.chen)) == [world.contact_b]


def test_a_hospital_sees_only_what_was_sent_to_it(world):
    assert list(Case.objects.visible_to(world.dr_li)) == [world.case_a]
    assert list(Case.objects.visible_to(world.dr_wang)) == []


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


def test_inactive_users_see_nothing(world):
    world.alice.is_active = False
    assert list(Case.objects.visible_to(world.alice)) == []
