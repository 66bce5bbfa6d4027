"""Synthetic demo data: realistic shapes, invented people. Nothing here is a real patient.

``seed_demo`` builds a small, story-like set for the demo, and, with ``--cases N``, bulk
volumes for benchmarks. Other apps add their part by providing ``<app>/demo.py`` with
``seed_setup()`` (called once, before the stories; it may answer ``target_centres`` for the
cases and ``logins`` to print) and ``seed_case(*, case, story, rng, actor)`` (called for each
demo case).
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import random
from dataclasses import dataclass, field

from django.apps import apps
from django.db import transaction
from django.utils import timezone

from accounts.models import User

from . import workflow
from .models import Case, FamilyContact, Indication, Patient, ReferenceCounter, StatusChange

DEMO_PASSWORD = "navigator-demo-2026"  # noqa: S105 - synthetic demo accounts only


@dataclass
class Story:
    """One synthetic family's situation."""

    given: str
    family: str
    native: str
    sex: str
    age_years: float
    country: str
    language: str
    tz: str
    contact: str
    relationship: str
    phone: str
    status: str
    ph_positive: bool = False
    post_transplant: bool = False
    # After a transplant: still on immunosuppression, and graft-versus-host disease active now.
    on_immunosuppression: bool = False
    active_gvhd: bool = False
    cns: str = "CNS1"
    prior_lines: int = 2
    summary: str = ""
    extra: dict = field(default_factory=dict)


STORIES = [
    Story(
        "Misha",
        "Ivanov",
        "Миша Иванов",
        "male",
        9,
        "KZ",
        "ru",
        "Asia/Almaty",
        "Olga Ivanova",
        "mother",
        "+77011234567",
        workflow.RECORDS,
        summary="Second relapse of B-ALL, CD19+ at relapse.",
    ),
    Story(
        "Aruzhan",
        "Sarsenova",
        "Аружан Сарсенова",
        "female",
        6,
        "KZ",
        "ru",
        "Asia/Almaty",
        "Dana Sarsenova",
        "mother",
        "+77017654321",
        workflow.REVIEW,
        summary="Primary refractory B-ALL after induction.",
    ),
    Story(
        "Xiaoming",
        "Chen",
        "陈小明",
        "male",
        14,
        "SG",
        "zh-hans",
        "Asia/Singapore",
        "Chen Li",
        "father",
        "+6591234567",
        workflow.SCREENING,
        ph_positive=True,
        summary="Ph+ B-ALL relapsed on dasatinib.",
    ),
    Story(
        "Ahmed",
        "Hassan",
        "أحمد حسن",
        "male",
        34,
        "EG",
        "ar",
        "Africa/Cairo",
        "Mona Hassan",
        "spouse",
        "+201001234567",
        workflow.REFERRED,
        post_transplant=True,
        prior_lines=3,
        summary="Relapse 8 months after matched-sibling SCT; off immunosuppression, no GvHD.",
    ),
    Story(
        "Nguyen",
        "Thi Lan",
        "Nguyễn Thị Lan",
        "female",
        27,
        "VN",
        "vi",
        "Asia/Ho_Chi_Minh",
        "Nguyen Van Binh",
        "spouse",
        "+84912345678",
        workflow.ACCEPTED,
        summary="Second relapse, CNS2 at last assessment.",
        cns="CNS2",
    ),
    Story(
        "Sofia",
        "Petrova",
        "София Петрова",
        "female",
        4,
        "RU",
        "ru",
        "Europe/Moscow",
        "Elena Petrova",
        "mother",
        "+79161234567",
        workflow.TRAVEL,
        summary="Relapse after blinatumomab; new CD19 sample requested.",
    ),
    Story(
        "Budi",
        "Santoso",
        "Budi Santoso",
        "male",
        11,
        "ID",
        "id",
        "Asia/Jakarta",
        "Siti Santoso",
        "mother",
        "+6281234567890",
        workflow.TREATMENT,
        summary="Infused; day-28 MRD pending.",
    ),
    Story(
        "Omar",
        "Al-Farsi",
        "عمر الفارسي",
        "male",
        45,
        "SA",
        "ar",
        "Asia/Riyadh",
        "Fatima Al-Farsi",
        "spouse",
        "+966501234567",
        workflow.FOLLOW_UP,
        ph_positive=True,
        summary="Day-28 MRD negative; TKI maintenance.",
    ),
    Story(
        "Lucas",
        "Oliveira",
        "Lucas Oliveira",
        "male",
        17,
        "BR",
        "en",
        "America/Sao_Paulo",
        "Ana Oliveira",
        "mother",
        "+5511912345678",
        workflow.TRANSPLANT,
        summary="MRD-negative CR; haplo donor identified.",
    ),
    Story(
        "Bat-Erdene",
        "Ganbold",
        "Бат-Эрдэнэ Ганболд",
        "male",
        8,
        "MN",
        "ru",
        "Asia/Ulaanbaatar",
        "Oyunaa Ganbold",
        "mother",
        "+97688123456",
        workflow.INQUIRY,
        summary="Family inquiry after second relapse.",
    ),
    Story(
        "Ayesha",
        "Khan",
        "عائشہ خان",
        "female",
        62,
        "PK",
        "en",
        "Asia/Karachi",
        "Imran Khan",
        "child",
        "+923001234567",
        workflow.REVIEW,
        prior_lines=2,
        summary="Adult in her 60s; fitness assessment needed.",
    ),
    Story(
        "Olena",
        "Shevchenko",
        "Олена Шевченко",
        "female",
        23,
        "UA",
        "ru",
        "Europe/Kyiv",
        "Olena Shevchenko",
        "self",
        "+380501234567",
        workflow.NOT_ELIGIBLE,
        summary="Lineage T-ALL on review: not a CD19 candidate.",
    ),
    Story(
        "Daniel",
        "Mensah",
        "Daniel Mensah",
        "male",
        0.8,
        "GH",
        "en",
        "Africa/Accra",
        "Akosua Mensah",
        "mother",
        "+233201234567",
        workflow.SCREENING,
        prior_lines=1,
        summary="Infant (10 months): individual assessment.",
    ),
    Story(
        "Mariam",
        "Tadesse",
        "ማርያም ታደሰ",
        "female",
        12,
        "ET",
        "en",
        "Africa/Addis_Ababa",
        "Tadesse Bekele",
        "father",
        "+251911234567",
        workflow.DECLINED,
        cns="CNS3",
        summary="Active CNS3 disease; declined.",
    ),
    Story(
        "Javier",
        "Ruiz",
        "Javier Ruiz",
        "male",
        38,
        "MX",
        "es",
        "America/Mexico_City",
        "Lucia Ruiz",
        "spouse",
        "+525512345678",
        workflow.WITHDRAWN,
        summary="Family chose a trial at home.",
    ),
    Story(
        "Leila",
        "Karimi",
        "لیلا کریمی",
        "female",
        15,
        "AE",
        "ar",
        "Asia/Dubai",
        "Reza Karimi",
        "father",
        "+971501234567",
        workflow.RECORDS,
        post_transplant=True,
        on_immunosuppression=True,
        active_gvhd=True,
        summary="Relapse after SCT; still on ciclosporin, mild skin GvHD.",
    ),
    Story(
        "Tomás",
        "Silva",
        "Tomás Silva",
        "male",
        7,
        "PT",
        "en",
        "Europe/Lisbon",
        "Inês Silva",
        "mother",
        "+351912345678",
        workflow.CLOSED,
        summary="Follow-up handed back to home haematologist.",
    ),
    Story(
        "Aigerim",
        "Nurlanovna",
        "Айгерим Нурлановна",
        "female",
        29,
        "KG",
        "ru",
        "Asia/Bishkek",
        "Nurlan Abdyrakhmanov",
        "father",
        "+996555123456",
        workflow.SCREENING,
        ph_positive=True,
        summary="Ph+ B-ALL, T315I: ponatinib.",
    ),
    Story(
        "Hana",
        "Yilmaz",
        "Hana Yılmaz",
        "female",
        5,
        "TR",
        "en",
        "Europe/Istanbul",
        "Zeynep Yilmaz",
        "mother",
        "+905321234567",
        workflow.REFERRED,
        summary="Second relapse, CD19+ on fresh marrow.",
    ),
    Story(
        "Ibrahim",
        "Bello",
        "Ibrahim Bello",
        "male",
        52,
        "NG",
        "en",
        "Africa/Lagos",
        "Aisha Bello",
        "spouse",
        "+2348031234567",
        workflow.DECEASED,
        summary="Died of infection before referral.",
    ),
]


def path_to(status: str) -> list[str]:
    """A plausible sequence of statuses from inquiry to ``status`` (breadth-first on the workflow)."""
    previous = {workflow.INQUIRY: None}
    queue = [workflow.INQUIRY]
    while queue:
        current = queue.pop(0)
        if current == status:
            break
        for nxt in sorted(workflow.TRANSITIONS[current], key=lambda s: (s in workflow.SIDE_EXITS, s)):
            if nxt not in previous:
                previous[nxt] = current
                queue.append(nxt)
    steps, node = [], status
    while node is not None:
        steps.append(node)
        node = previous[node]
    return list(reversed(steps))


def demo_user(username: str, role: str, **extra) -> User:
    """A demo login (created once, with the demo password)."""
    user, created = User.objects.get_or_create(username=username, defaults={"role": role, **extra})
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    return user


def _app_hooks(name: str):
    """``<app>.demo.<name>`` of every other app that provides it, in app order."""
    for config in apps.get_app_configs():
        if importlib.util.find_spec(f"{config.name}.demo") is None:
            continue  # this app seeds nothing; an import error inside a demo module still raises
        module = importlib.import_module(f"{config.name}.demo")
        if config.name != "cases" and hasattr(module, name):
            yield getattr(module, name)


def _app_seeders():
    """Every other app's ``seed_case``."""
    return _app_hooks("seed_case")


@transaction.atomic
def seed_stories(*, rng: random.Random | None = None) -> dict:
    """The demo set: ~20 cases across statuses, countries, languages and ages."""
    rng = rng or random.Random(2026)
    today = timezone.localdate()
    alice = demo_user(
        "alice",
        User.Role.COORDINATOR,
        first_name="Alice",
        last_name="Moreau",
        is_staff=True,
        email="alice@navigator.example",
    )
    bob = demo_user(
        "bob", User.Role.COORDINATOR, first_name="Bob", last_name="Tan", is_staff=True, email="bob@navigator.example"
    )
    demo_user(
        "sam", User.Role.SUPERVISOR, first_name="Sam", last_name="Okafor", is_staff=True, email="sam@navigator.example"
    )
    setup = {}
    for seed_setup in _app_hooks("seed_setup"):
        setup.update(seed_setup())
    target_centres = list(setup.get("target_centres", []))
    indication = Indication.objects.get(code="b-all-cd19-car-t")
    seeders = list(_app_seeders())
    created = []
    for index, story in enumerate(STORIES):
        if Patient.objects.filter(given_name=story.given, family_name=story.family).exists():
            continue
        dob = today - dt.timedelta(days=int(story.age_years * 365.25) + rng.randint(0, 200))
        patient = Patient.objects.create(
            given_name=story.given,
            family_name=story.family,
            native_name=story.native,
            sex=story.sex,
            date_of_birth=dob,
            country=story.country,
            preferred_language=story.language,
            time_zone=story.tz,
            home_haematologist=f"Dr {rng.choice(['Amari', 'Berg', 'Costa', 'Demir', 'Edwards'])}",
            home_centre=f"{story.country} National Haematology Centre",
        )
        family_user = demo_user(
            f"family.{story.family.lower().replace(' ', '').replace('-', '')}",
            User.Role.FAMILY,
            preferred_language=story.language,
            time_zone=story.tz,
            email=f"{story.family.lower().replace(' ', '')}@family.example",
        )
        FamilyContact.objects.create(
            patient=patient,
            name=story.contact,
            relationship=story.relationship,
            language=story.language,
            time_zone=story.tz,
            email=family_user.email,
            phone=story.phone,
            is_primary=True,
            user=family_user,
        )
        inquiry = today - dt.timedelta(days=20 + 12 * len(path_to(story.status)) + rng.randint(0, 10))
        year_counter, _ = ReferenceCounter.objects.get_or_create(year=inquiry.year)
        year_counter.last += 1
        year_counter.save()
        case = Case.objects.create(
            reference=f"NAV-{inquiry.year}-{year_counter.last:05d}",
            patient=patient,
            indication=indication,
            coordinator=[alice, bob][index % 2],
            priority=3 if story.status in (workflow.TREATMENT,) else 1 + index % 2,
            inquiry_date=inquiry,
            summary=story.summary,
        )
        case.target_centres.set(target_centres[:2] if index % 3 else target_centres[:1])
        when = timezone.make_aware(dt.datetime.combine(inquiry, dt.time(9)))
        steps = path_to(story.status)
        StatusChange.objects.create(
            case=case,
            from_status="",
            to_status=steps[0],
            changed_by=case.coordinator,
            changed_at=when,
            reason="Case opened",
        )
        for here, there in zip(steps, steps[1:], strict=False):
            when += dt.timedelta(days=rng.randint(3, 12))
            StatusChange.objects.create(
                case=case,
                from_status=here,
                to_status=there,
                changed_by=case.coordinator,
                changed_at=when,
                reason="" if not workflow.needs_reason(here, there) else story.summary,
            )
        Case.objects.filter(pk=case.pk).update(status=steps[-1], last_activity_at=min(when, timezone.now()))
        case.refresh_from_db()
        for seed in seeders:
            seed(case=case, story=story, rng=rng, actor=case.coordinator)
        created.append(case)
    return {
        "cases": len(created),
        "logins": {
            "coordinator": ("alice", DEMO_PASSWORD),
            "supervisor": ("sam", DEMO_PASSWORD),
            "family": ("family.ivanov", DEMO_PASSWORD),
            **setup.get("logins", {}),
        },
    }


FIRST = [
    "Anna",
    "Ivan",
    "Wei",
    "Fatima",
    "Ali",
    "Maria",
    "Chen",
    "Sara",
    "Omar",
    "Lina",
    "Yusuf",
    "Elena",
    "Minh",
    "Dina",
    "Arman",
    "Noor",
    "Pavel",
    "Hui",
    "Leyla",
    "Tariq",
]
LAST = [
    "Ivanova",
    "Petrov",
    "Zhang",
    "Hassan",
    "Nguyen",
    "Kaya",
    "Sultanov",
    "Rahman",
    "Lopez",
    "Kim",
    "Ali",
    "Popescu",
    "Tan",
    "Haddad",
    "Bekov",
    "Silva",
    "Morozov",
    "Wang",
    "Osei",
    "Nasser",
]
PLACES = [
    ("KZ", "ru", "Asia/Almaty"),
    ("RU", "ru", "Europe/Moscow"),
    ("SG", "zh-hans", "Asia/Singapore"),
    ("EG", "ar", "Africa/Cairo"),
    ("VN", "vi", "Asia/Ho_Chi_Minh"),
    ("ID", "id", "Asia/Jakarta"),
    ("SA", "ar", "Asia/Riyadh"),
    ("BR", "es", "America/Sao_Paulo"),
    ("MN", "ru", "Asia/Ulaanbaatar"),
    ("PK", "en", "Asia/Karachi"),
]


def seed_bulk(*, count: int, batch: int = 5000, rng: random.Random | None = None) -> int:
    """``count`` more synthetic cases, fast: bulk inserts, no per-row history or side effects."""
    rng = rng or random.Random(42)
    today = timezone.localdate()
    now = timezone.now()
    indication = Indication.objects.get(code="b-all-cd19-car-t")
    coordinators = list(User.objects.filter(role__in=["coordinator", "supervisor"]).values_list("pk", flat=True))
    if not coordinators:
        coordinators = [demo_user("alice", User.Role.COORDINATOR, is_staff=True).pk]
    statuses = list(workflow.TRANSITIONS)
    made = 0
    while made < count:
        size = min(batch, count - made)
        with transaction.atomic():
            counter, _ = ReferenceCounter.objects.select_for_update().get_or_create(year=today.year)
            first = counter.last + 1
            counter.last += size
            counter.save()
            patients = []
            for _ in range(size):
                country, language, tz = rng.choice(PLACES)
                patients.append(
                    Patient(
                        given_name=rng.choice(FIRST),
                        family_name=rng.choice(LAST),
                        sex=rng.choice(["female", "male"]),
                        date_of_birth=today - dt.timedelta(days=rng.randint(400, 365 * 75)),
                        country=country,
                        preferred_language=language,
                        time_zone=tz,
                    )
                )
            Patient.objects.bulk_create(patients, batch_size=batch)
            cases = []
            for offset, patient in enumerate(patients):
                due = now + dt.timedelta(days=rng.randint(-20, 60)) if rng.random() < 0.7 else None
                cases.append(
                    Case(
                        reference=f"NAV-{today.year}-{first + offset:05d}",
                        patient=patient,
                        indication=indication,
                        coordinator_id=rng.choice(coordinators),
                        status=rng.choice(statuses),
                        priority=rng.choice([1, 1, 1, 2, 3]),
                        inquiry_date=today - dt.timedelta(days=rng.randint(0, 700)),
                        last_activity_at=now - dt.timedelta(hours=rng.randint(0, 24 * 90)),
                        next_due_at=due,
                        next_due_title="Day-28 MRD assessment" if due else "",
                    )
                )
            Case.objects.bulk_create(cases, batch_size=batch)
            StatusChange.objects.bulk_create(
                [
                    StatusChange(case=c, from_status="", to_status=c.status, changed_at=now, reason="Generated")
                    for c in cases
                ],
                batch_size=batch,
            )
        made += size
    return made
