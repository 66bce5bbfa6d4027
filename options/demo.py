"""Synthetic entries of the options register for the demo (invented trial numbers and contacts)."""

from __future__ import annotations

from hospitals.models import Hospital

from .models import Option

YEAR = 12

DEMO_OPTIONS = [
    {
        "short_name": "CD22 CAR-T (trial)",
        "title": "CD22-directed CAR-T cells for relapsed or refractory B-ALL, including relapse after CD19 CAR-T",
        "kind": Option.Kind.CAR_T,
        "is_trial": True,
        "registry": Option.Registry.CTGOV,
        "registry_id": "NCT09990101",
        "target_antigens": ["CD22"],
        "min_age_months": 1 * YEAR,
        "max_age_months": 70 * YEAR,
        "status": Option.Status.RECRUITING,
        "prior_cd19_car_t": Option.PriorCarT.ALLOWED,
        "cns": Option.CnsPolicy.ACTIVE_EXCLUDED,
        "countries": ["CN"],
        "locations": [
            {"facility": "Synthetic University Hospital", "city": "Beijing", "country": "CN", "status": "RECRUITING"}
        ],
        "contacts": [{"name": "Trial office", "role": "CONTACT", "email": "cd22-trial@synthetic.example", "phone": ""}],
        "eligibility_criteria": "Inclusion: CD22-positive relapsed or refractory B-ALL; prior CD19 CAR-T allowed.\n"
        "Exclusion: active CNS disease (CNS3); active GvHD.",
        "source": "ClinicalTrials.gov (synthetic demo entry)",
        "summary_en": "A study of CAR-T cells aimed at CD22, another marker on leukaemia cells. It is for children "
        "and adults whose leukaemia came back, including after CD19 CAR-T.",
    },
    {
        "short_name": "CD19/CD22 dual CAR-T (trial)",
        "title": "Bispecific CD19/CD22 CAR-T cells in relapsed B-ALL",
        "kind": Option.Kind.CAR_T,
        "is_trial": True,
        "registry": Option.Registry.CTGOV,
        "registry_id": "NCT09990102",
        "target_antigens": ["CD19", "CD22"],
        "min_age_months": 2 * YEAR,
        "max_age_months": 30 * YEAR,
        "status": Option.Status.RECRUITING,
        "prior_cd19_car_t": Option.PriorCarT.EXCLUDED,
        "cns": Option.CnsPolicy.ACTIVE_EXCLUDED,
        "countries": ["CN"],
        "locations": [
            {
                "facility": "Synthetic Children's Medical Center",
                "city": "Shanghai",
                "country": "CN",
                "status": "RECRUITING",
            }
        ],
        "contacts": [{"name": "Study coordinator", "role": "CONTACT", "email": "dual@synthetic.example", "phone": ""}],
        "eligibility_criteria": "Inclusion: relapsed B-ALL, CD19 or CD22 positive.\nExclusion: prior CAR-T therapy.",
        "source": "ClinicalTrials.gov (synthetic demo entry)",
        "summary_en": "A study of CAR-T cells aimed at two markers at once (CD19 and CD22), for young people whose "
        "leukaemia came back and who have not had CAR-T before.",
    },
    {
        "short_name": "Inotuzumab ozogamicin",
        "title": "Inotuzumab ozogamicin (anti-CD22 antibody-drug conjugate)",
        "kind": Option.Kind.ANTIBODY,
        "target_antigens": ["CD22"],
        "min_age_months": 1 * YEAR,
        "status": Option.Status.AVAILABLE,
        "prior_cd19_car_t": Option.PriorCarT.ALLOWED,
        "cns": Option.CnsPolicy.UNKNOWN,
        "source": "Approved treatment (product label)",
        "summary_en": "A medicine given by drip that carries a drug to leukaemia cells through the CD22 marker. "
        "It is approved and often used to reach remission before a transplant.",
    },
    {
        "short_name": "Blinatumomab",
        "title": "Blinatumomab (CD19/CD3 bispecific T-cell engager)",
        "kind": Option.Kind.BISPECIFIC,
        "target_antigens": ["CD19"],
        "min_age_months": 1,
        "setting": Option.Setting.MRD_POSITIVE,
        "status": Option.Status.AVAILABLE,
        "prior_cd19_car_t": Option.PriorCarT.ALLOWED,
        "cns": Option.CnsPolicy.UNKNOWN,
        "source": "Approved treatment (product label)",
        "summary_en": "A medicine given by continuous drip that helps the body's own T cells find leukaemia cells "
        "through the CD19 marker. It needs leukaemia cells that still carry CD19.",
    },
    {
        "short_name": "Haploidentical transplant (Peking Protocol)",
        "title": "Haploidentical allogeneic stem cell transplant",
        "kind": Option.Kind.TRANSPLANT,
        "setting": Option.Setting.CONSOLIDATION,
        "status": Option.Status.AVAILABLE,
        "prior_cd19_car_t": Option.PriorCarT.ALLOWED,
        "cns": Option.CnsPolicy.UNKNOWN,
        "countries": ["CN"],
        "source": "Service guide: Peking Protocol haploidentical transplant",
        "summary_en": "A stem cell transplant from a half-matched family member, such as a parent. It is used to "
        "keep leukaemia away after a remission.",
    },
    {
        "short_name": "CD22 CAR-T after CD19 CAR-T (ChiCTR trial)",
        "title": "Sequential CAR-T cell therapy for relapsed B-ALL after CD19 CAR-T failure",
        "kind": Option.Kind.CAR_T,
        "is_trial": True,
        "registry": Option.Registry.CHICTR,
        "registry_id": "ChiCTR2699000123",
        "target_antigens": ["CD22"],
        "min_age_months": 6 * YEAR,
        "max_age_months": 65 * YEAR,
        "setting": Option.Setting.AFTER_CAR_T,
        "status": Option.Status.RECRUITING,
        "prior_cd19_car_t": Option.PriorCarT.REQUIRED,
        "cns": Option.CnsPolicy.ALLOWED,
        "countries": ["CN"],
        "locations": [
            {"facility": "Synthetic Provincial Hospital", "city": "Wuhan", "country": "CN", "status": "RECRUITING"}
        ],
        "contacts": [
            {"name": "Dr Synthetic", "role": "PRINCIPAL_INVESTIGATOR", "email": "chictr@synthetic.example", "phone": ""}
        ],
        "eligibility_criteria": "Inclusion: relapse after CD19 CAR-T.\nCNS2 accepted with intrathecal therapy.",
        "source": "ChiCTR, entered by hand (synthetic demo entry)",
        "summary_en": "A study for leukaemia that came back after CD19 CAR-T, with CAR-T cells aimed at CD22.",
    },
]


def seed_setup() -> dict:
    """The register's demo entries (synthetic), and the trial team of the CD22 CAR-T trial."""
    team, _ = Hospital.objects.get_or_create(
        code="cd22-trial",
        defaults={
            "name_en": "CD22 CAR-T trial team (synthetic)",
            "city": "Beijing",
            "kind": Hospital.Kind.TRIAL_TEAM,
            "response_days": 10,
        },
    )
    for values in DEMO_OPTIONS:
        values = dict(values)
        if values["short_name"] == "CD22 CAR-T (trial)":
            values["trial_team"] = team
        Option.objects.get_or_create(short_name=values.pop("short_name"), defaults=values)
    return {}
