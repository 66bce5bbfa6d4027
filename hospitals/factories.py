"""factory_boy factories of centres and referrals, for tests and benchmarks."""

import factory
from django.utils import timezone

from cases.factories import CaseFactory

from .models import Hospital, Referral


class HospitalFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Hospital
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"centre{n}")
    name_en = factory.LazyAttribute(lambda h: f"{h.code.upper()} Hospital")
    name_zh = "医院"
    city = "Beijing"


class ReferralFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Referral

    case = factory.SubFactory(CaseFactory)
    hospital = factory.SubFactory(HospitalFactory)
    status = Referral.Status.SENT
    sent_at = factory.LazyFunction(timezone.now)
