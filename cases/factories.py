"""factory_boy factories for tests, benchmarks and demo data."""

import datetime as dt

import factory
from django.utils import timezone

from accounts.models import User

from .models import Case, FamilyContact, Indication, Patient
from .services import case_next_reference


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.django.Password("correct-horse-battery-staple")
    role = User.Role.FAMILY


class CoordinatorFactory(UserFactory):
    role = User.Role.COORDINATOR
    is_staff = True


class PatientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Patient

    given_name = factory.Faker("first_name")
    family_name = factory.Faker("last_name")
    date_of_birth = factory.LazyFunction(lambda: timezone.localdate() - dt.timedelta(days=365 * 9 + 40))
    sex = Patient.Sex.FEMALE
    country = "KZ"
    preferred_language = "ru"
    time_zone = "Asia/Almaty"


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FamilyContact

    patient = factory.SubFactory(PatientFactory)
    name = factory.Faker("name")
    relationship = FamilyContact.Relationship.MOTHER
    language = "ru"
    time_zone = "Asia/Almaty"
    email = factory.Sequence(lambda n: f"family{n}@example.org")
    phone = "+77011234567"


class CaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Case

    reference = factory.LazyFunction(lambda: case_next_reference(year=timezone.localdate().year))
    patient = factory.SubFactory(PatientFactory)
    # get_or_create: transactional tests (real Celery workers) flush the data-migration row.
    indication = factory.LazyFunction(
        lambda: Indication.objects.get_or_create(
            code="b-all-cd19-car-t", defaults={"name": "Relapsed/refractory B-cell ALL: CD19 CAR-T"}
        )[0]
    )
    inquiry_date = factory.LazyFunction(timezone.localdate)
