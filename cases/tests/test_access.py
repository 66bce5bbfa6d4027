from cases.models import Case, FamilyContact, Patient


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


def test_inactive_users_see_nothing(world):
    world.alice.is_active = False
    assert list(Case.objects.visible_to(world.alice)) == []
