"""The structured clinical profile of a case, the pre-screen assessments run on it, centre
variations of the rules, coordinator overrides and the summaries published to the family.

Every fact carries the document that proves it (``source_document``) and, where there is
one, its clinical date. Profiles keep their history (django-simple-history); assessments
are never changed once stored.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from simple_history.models import HistoricalRecords

from accounts.access import NOBODY, CaseRows, CentreRows, VisibleQuerySet

from . import rules


def _choices(values, labels: dict[str, str] | None = None):
    labels = labels or {}
    return [(v, labels.get(v, v.replace("_", " ").capitalize())) for v in values]


LINEAGE_CHOICES = _choices(
    rules.LINEAGES,
    {
        "b_all": _("B-cell precursor ALL"),
        "t_all": _("T-ALL"),
        "aml": _("AML"),
        "other": _("Other"),
        "unknown": _("Not known"),
    },
)
LINEAGE_METHOD_CHOICES = _choices(rules.LINEAGE_METHODS)
CD19_STATUS_CHOICES = _choices(
    rules.CD19_STATUSES, {"positive": _("CD19+"), "dim": _("CD19 dim / partial"), "negative": _("CD19-negative")}
)
CD19_SAMPLE_CHOICES = _choices(rules.CD19_SAMPLE_TYPES, {"csf": _("CSF")})
CD19_METHOD_CHOICES = _choices(rules.CD19_METHODS)
DONOR_TYPE_CHOICES = _choices(rules.DONOR_TYPES)
CNS_CHOICES = _choices(
    rules.CNS_STATUSES,
    {
        "cns1": _("CNS1 (no blasts in CSF)"),
        "cns2": _("CNS2 (blasts, < 5 WBC/µL)"),
        "cns3": _("CNS3 (active CNS disease)"),
    },
)
PH_CHOICES = [("", _("Not known")), ("positive", _("Ph+ (BCR::ABL1 detected)")), ("negative", _("Ph-negative"))]
FITNESS_CHOICES = [
    ("ecog", _("ECOG (adults)")),
    ("karnofsky", _("Karnofsky (16 years and older)")),
    ("lansky", _("Lansky (under 16 years)")),
]
CNS2_POLICY_CHOICES = [
    ("review", _("Needs review (base rule)")),
    ("accept", _("Accepted with intrathecal prophylaxis")),
    ("exclude", _("Excluded")),
]
CNS3_POLICY_CHOICES = [
    ("exclude", _("Excluded (base rule)")),
    ("review", _("Needs review")),
    ("accept", _("Accepted with CNS-directed therapy")),
]
ORGAN_TEST_CHOICES = [
    ("creatinine_clearance", _("Creatinine clearance")),
    ("egfr", _("eGFR")),
    ("lvef", _("Left ventricular ejection fraction (LVEF)")),
    ("bilirubin", _("Total bilirubin")),
    ("alt", _("ALT")),
    ("ast", _("AST")),
    ("spo2", _("SpO2 on room air")),
]
UCUM_UNIT_CHOICES = [
    ("mL/min", "mL/min"),
    ("mL/min/{1.73_m2}", "mL/min/1.73 m²"),
    ("%", "%"),
    ("umol/L", "µmol/L"),
    ("mg/dL", "mg/dL"),
    ("U/L", "U/L"),
]
INFECTION_STATUS_CHOICES = [
    ("uncontrolled", _("Active, uncontrolled")),
    ("controlled", _("Active, controlled on treatment")),
    ("resolved", _("Resolved")),
]
MRD_RESULT_CHOICES = [("negative", _("MRD-negative")), ("positive", _("MRD-positive")), ("not_done", _("Not done"))]
MRD_METHOD_CHOICES = [
    ("flow_cytometry", _("Flow cytometry")),
    ("pcr", _("PCR (IG/TR or fusion transcript)")),
    ("ngs", _("Next-generation sequencing")),
]
# Infection screening before apheresis. The tests are those the EU requires of every donor of
# tissues and cells, autologous donors included (Commission Directive 2006/17/EC, Annex II 1.1:
# anti-HIV-1,2, HBsAg, anti-HBc, anti-HCV, syphilis by a validated algorithm; 1.2: HTLV-I for
# donors from high-prevalence areas; 1.3: anti-HBc positive with HBsAg negative needs further
# investigation; 1.5: CMV, EBV where the history calls for it), which centres ask for as the
# "infection serology" of the records a centre needs for review (shared/domain/pathway.md).
# HBV DNA, HCV RNA and EBV DNA are the nucleic-acid tests a positive antibody is followed by;
# only they carry a viral load.
SEROLOGY_TEST_CHOICES = [
    ("hbsag", _("HBsAg")),
    ("anti_hbc", _("Anti-HBc (total)")),
    ("hbv_dna", _("HBV DNA")),
    ("anti_hcv", _("Anti-HCV")),
    ("hcv_rna", _("HCV RNA")),
    ("hiv_ag_ab", _("HIV-1/2 Ag/Ab")),
    ("cmv_igg", _("CMV IgG")),
    ("ebv_vca_igg", _("EBV VCA IgG")),
    ("ebv_dna", _("EBV DNA")),
    ("syphilis_treponemal", _("Syphilis, treponemal (TPHA/TPPA)")),
    ("syphilis_rpr", _("Syphilis, non-treponemal (RPR/VDRL)")),
    ("htlv", _("HTLV-1/2 antibody")),
]
VIRAL_LOAD_TESTS = ("hbv_dna", "hcv_rna", "ebv_dna")
SEROLOGY_RESULT_CHOICES = [
    ("negative", _("Negative / not detected")),
    ("positive", _("Positive / detected")),
    ("indeterminate", _("Indeterminate")),
]
VIRAL_LOAD_UNIT_CHOICES = [("[iU]/mL", "IU/mL"), ("{copies}/mL", "copies/mL")]
OUTCOME_CHOICES = [
    (rules.MET, _("Met")),
    (rules.NOT_MET, _("Not met")),
    (rules.NEEDS_REVIEW, _("Needs review")),
    (rules.MISSING, _("Missing information")),
]
VERDICT_CHOICES = [
    (rules.LIKELY_ELIGIBLE, _("Likely eligible")),
    (rules.NEEDS_SPECIALIST_REVIEW, _("Needs specialist review")),
    (rules.NOT_ELIGIBLE, _("Not eligible")),
    (rules.INCOMPLETE, _("Incomplete")),
]
CRITERION_CHOICES = [
    ("diagnosis", _("Diagnosis")),
    ("cd19", _("CD19 expression")),
    ("age", _("Age")),
    ("fitness", _("Performance status (fitness)")),
    ("organ_function", _("Organ function")),
    ("infection", _("Active infection")),
    ("disease_status", _("Disease status (relapsed / refractory)")),
    ("post_transplant", _("After allogeneic transplant")),
    ("cns", _("CNS disease")),
    ("philadelphia", _("Philadelphia chromosome")),
]


def clinical(path: str = "case", **narrowing) -> CaseRows:
    """Clinical data: coordinators see all, hospitals the cases shared with them, families none
    (a family reads only the summary a coordinator published)."""
    return CaseRows(path, family=NOBODY, **narrowing)


def _source_document():
    return models.ForeignKey(
        "documents.Document",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("source document"),
        help_text=_("The record that proves this fact."),
    )


class ClinicalProfile(models.Model):
    """The facts of one case that the pre-screen reads, each with the document that proves it."""

    case = models.OneToOneField("cases.Case", on_delete=models.CASCADE, related_name="clinical_profile")

    diagnosis_lineage = models.CharField(max_length=20, choices=LINEAGE_CHOICES, default="unknown")
    diagnosis_method = models.CharField(
        _("lineage confirmed by"), max_length=30, choices=LINEAGE_METHOD_CHOICES, default="unknown"
    )
    diagnosis_date = models.DateField(null=True, blank=True)
    diagnosis_source = _source_document()

    primary_refractory = models.BooleanField(
        null=True, blank=True, help_text=_("Never reached remission after induction. Empty = not known.")
    )
    primary_refractory_source = _source_document()
    reported_prior_lines = models.IntegerField(
        null=True,
        blank=True,
        help_text=_("Number of prior lines as reported (e.g. in a referral letter) before the detailed history is in."),
    )
    first_remission_date = models.DateField(
        _("first complete remission reached on"),
        null=True,
        blank=True,
        help_text=_("Tells an early first relapse (first remission 12 months or less) from a late one."),
    )
    infections_reviewed_on = models.DateField(
        _("records checked for active infection on"),
        null=True,
        blank=True,
        help_text=_("The date the records were last checked for active infection; record each one found."),
    )
    prior_transplant = models.BooleanField(
        _("has had a stem-cell transplant"), null=True, blank=True, help_text=_("Empty = not known.")
    )

    philadelphia_status = models.CharField(max_length=10, choices=PH_CHOICES, blank=True)
    philadelphia_method = models.CharField(max_length=100, blank=True, help_text=_("e.g. karyotype, FISH, RT-PCR."))
    philadelphia_date = models.DateField(null=True, blank=True)
    current_tki = models.CharField(_("current TKI"), max_length=100, blank=True, help_text=_("e.g. ponatinib."))
    philadelphia_source = _source_document()

    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()
    objects = VisibleQuerySet.as_manager()
    visibility = clinical()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(reported_prior_lines__isnull=True) | Q(reported_prior_lines__gte=0),
                name="profile_prior_lines_not_negative",
            )
        ]

    def __str__(self) -> str:
        return f"Clinical profile of {self.case}"


class Fact(models.Model):
    """A dated fact of a profile with its provenance."""

    profile = models.ForeignKey(ClinicalProfile, on_delete=models.CASCADE)
    source_document = _source_document()
    created_at = models.DateTimeField(default=timezone.now)

    objects = VisibleQuerySet.as_manager()
    visibility = clinical("profile__case")

    class Meta:
        abstract = True

    @property
    def case_id(self):
        return self.profile.case_id


class Cd19Result(Fact):
    """One CD19 expression result (flow cytometry on marrow or blood, or other)."""

    status = models.CharField(max_length=10, choices=CD19_STATUS_CHOICES)
    sample_type = models.CharField(max_length=20, choices=CD19_SAMPLE_CHOICES, default="bone_marrow")
    sample_date = models.DateField()
    method = models.CharField(max_length=30, choices=CD19_METHOD_CHOICES, default="flow_cytometry")
    history = HistoricalRecords()

    class Meta:
        ordering = ["-sample_date", "-id"]
        verbose_name = _("CD19 result")

    def __str__(self) -> str:
        return f"CD19 {self.status} ({self.sample_date})"


class Relapse(Fact):
    """A relapse and where (marrow, CNS, extramedullary)."""

    date = models.DateField()
    site = models.CharField(max_length=50, blank=True, help_text=_("e.g. marrow, CNS, testicular."))
    history = HistoricalRecords()

    class Meta:
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"Relapse {self.date}"


class TherapyLine(Fact):
    """One prior line of therapy; CD19-directed lines (blinatumomab, CAR-T) make older CD19 results stale."""

    regimen = models.CharField(max_length=200)
    start = models.DateField(_("start date"))
    end = models.DateField(_("end date"), null=True, blank=True)
    best_response = models.CharField(
        max_length=50, blank=True, help_text=_("e.g. CR, CR MRD-negative, PR, refractory.")
    )
    cd19_directed = models.BooleanField(
        _("CD19-directed"), default=False, help_text=_("Blinatumomab, CD19 CAR-T. Not rituximab (anti-CD20).")
    )
    cd22_directed = models.BooleanField(
        _("CD22-directed"), default=False, help_text=_("Inotuzumab ozogamicin, CD22 CAR-T.")
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["start", "id"]

    def __str__(self) -> str:
        return f"{self.regimen} ({self.start})"


class Transplant(Fact):
    """A stem-cell transplant with the current immunosuppression and GvHD state."""

    date = models.DateField()
    donor_type = models.CharField(max_length=30, choices=DONOR_TYPE_CHOICES)
    on_immunosuppression = models.BooleanField(_("currently on immunosuppression"), null=True, blank=True)
    active_gvhd = models.BooleanField(_("active GvHD"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.get_donor_type_display()} transplant {self.date}"


class CnsAssessment(Fact):
    """CNS status from a CSF result."""

    status = models.CharField(max_length=10, choices=CNS_CHOICES)
    date = models.DateField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("CNS assessment")

    def __str__(self) -> str:
        return f"{self.status.upper()} {self.date}"


class FitnessAssessment(Fact):
    """Performance status: ECOG (0-5), Karnofsky (adults) or Lansky (children), 0-100."""

    scale = models.CharField(max_length=10, choices=FITNESS_CHOICES)
    score = models.SmallIntegerField()
    date = models.DateField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.get_scale_display()} {self.score} ({self.date})"


class OrganFunctionResult(Fact):
    """One organ function value with its UCUM unit and date (laboratory ULN for bilirubin, ALT, AST)."""

    test = models.CharField(max_length=30, choices=ORGAN_TEST_CHOICES)
    value = models.DecimalField(max_digits=8, decimal_places=2)
    unit = models.CharField(_("unit (UCUM)"), max_length=20, choices=UCUM_UNIT_CHOICES)
    upper_limit_normal = models.DecimalField(
        _("upper limit of normal"),
        max_digits=8,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("The laboratory's upper limit of normal, in the same unit (bilirubin, ALT, AST)."),
    )
    date = models.DateField()
    history = HistoricalRecords()

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("organ function result")

    def __str__(self) -> str:
        return f"{self.get_test_display()} {self.value} {self.unit} ({self.date})"


class Infection(Fact):
    """An infection found in the records, and whether it is controlled."""

    description = models.CharField(max_length=200, help_text=_("e.g. invasive aspergillosis, CMV viraemia."))
    status = models.CharField(max_length=20, choices=INFECTION_STATUS_CHOICES)
    date = models.DateField(_("identified on"))
    history = HistoricalRecords()

    class Meta:
        ordering = ["-date", "-id"]

    def __str__(self) -> str:
        return f"{self.description} ({self.status})"


class MarrowAssessment(Fact):
    """A bone marrow aspirate: the current disease burden (blasts, MRD with method and sensitivity)."""

    date = models.DateField()
    blasts_percent = models.DecimalField(_("blasts (%)"), max_digits=5, decimal_places=2, null=True, blank=True)
    mrd = models.CharField(_("MRD"), max_length=10, choices=MRD_RESULT_CHOICES, default="not_done")
    mrd_level = models.DecimalField(
        _("MRD level"),
        max_digits=12,
        decimal_places=10,
        null=True,
        blank=True,
        help_text=_("Fraction of leukaemic cells, e.g. 0.0003 for 3 × 10^-4."),
    )
    mrd_method = models.CharField(_("MRD method"), max_length=20, choices=MRD_METHOD_CHOICES, blank=True)
    mrd_sensitivity = models.DecimalField(
        _("MRD sensitivity"),
        max_digits=12,
        decimal_places=10,
        null=True,
        blank=True,
        help_text=_("e.g. 0.0001 (10^-4, flow cytometry) or 0.00001 (10^-5, PCR)."),
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("bone marrow assessment")

    def __str__(self) -> str:
        return f"Marrow {self.date}: blasts {self.blasts_percent} %, MRD {self.mrd}"


def _is_number(value) -> bool:
    """A value its field has already converted (``clean()`` runs even when a field's own check
    failed, with the raw input left in place)."""
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool)


class BodyMeasurement(Fact):
    """Weight and height on one date (dosing, apheresis volumes, body surface area)."""

    date = models.DateField()
    weight_kg = models.DecimalField(_("weight (kg)"), max_digits=5, decimal_places=1, null=True, blank=True)
    height_cm = models.DecimalField(_("height (cm)"), max_digits=4, decimal_places=1, null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("body measurement")
        constraints = [
            models.CheckConstraint(
                condition=Q(weight_kg__isnull=False) | Q(height_cm__isnull=False),
                name="body_measurement_has_a_value",
                violation_error_message=_("Give the weight (kg), the height (cm) or both."),
            ),
            models.CheckConstraint(
                condition=Q(weight_kg__isnull=True) | Q(weight_kg__gt=0, weight_kg__lte=400),
                name="body_measurement_weight_plausible",
            ),
            models.CheckConstraint(
                condition=Q(height_cm__isnull=True) | Q(height_cm__gte=30, height_cm__lte=250),
                name="body_measurement_height_plausible",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.weight_kg or '-'} kg, {self.height_cm or '-'} cm ({self.date})"

    def clean(self):
        errors = {}
        if _is_number(self.weight_kg) and not 0 < self.weight_kg <= 400:
            errors["weight_kg"] = [_("Give the weight in kilograms (more than 0, at most 400).")]
        if _is_number(self.height_cm) and not 30 <= self.height_cm <= 250:
            errors["height_cm"] = [_("Give the height in centimetres (30 to 250).")]
        if errors:
            raise ValidationError(errors)


class SerologyResult(Fact):
    """One infection screening test (serology or nucleic-acid test) and its result."""

    test = models.CharField(max_length=30, choices=SEROLOGY_TEST_CHOICES)
    result = models.CharField(max_length=15, choices=SEROLOGY_RESULT_CHOICES)
    viral_load = models.DecimalField(
        _("viral load"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_("HBV DNA, HCV RNA or EBV DNA only, in the unit the laboratory reports."),
    )
    viral_load_unit = models.CharField(
        _("viral load unit (UCUM)"), max_length=20, choices=VIRAL_LOAD_UNIT_CHOICES, blank=True
    )
    date = models.DateField(_("sample date"))
    history = HistoricalRecords()

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("infection serology result")
        constraints = [
            models.CheckConstraint(
                condition=Q(viral_load__isnull=True, viral_load_unit="")
                | Q(viral_load__isnull=False, viral_load__gte=0) & ~Q(viral_load_unit=""),
                name="serology_viral_load_with_unit",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_test_display()} {self.result} ({self.date})"

    def clean(self):
        if self.viral_load is None and not self.viral_load_unit:
            return
        if self.test not in VIRAL_LOAD_TESTS:
            raise ValidationError({"viral_load": [_("Only HBV DNA, HCV RNA and EBV DNA carry a viral load.")]})
        if self.viral_load is None:
            raise ValidationError({"viral_load": [_("Give the viral load for this unit, or clear the unit.")]})
        if _is_number(self.viral_load) and self.viral_load < 0:
            raise ValidationError({"viral_load": [_("A viral load cannot be negative.")]})
        if not self.viral_load_unit:
            raise ValidationError({"viral_load_unit": [_("Choose the unit of the viral load (IU/mL or copies/mL).")]})


class LymphocyteCount(Fact):
    """Lymphocytes before apheresis: the absolute count and the CD3+ T-cell count of one sample."""

    date = models.DateField(_("sample date"))
    absolute_lymphocytes = models.DecimalField(
        _("absolute lymphocyte count (10^9/L)"), max_digits=6, decimal_places=2, null=True, blank=True
    )
    cd3_per_ul = models.PositiveIntegerField(_("CD3+ cells per µL"), null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-date", "-id"]
        verbose_name = _("lymphocyte count")
        constraints = [
            models.CheckConstraint(
                condition=Q(absolute_lymphocytes__isnull=False) | Q(cd3_per_ul__isnull=False),
                name="lymphocyte_count_has_a_value",
                violation_error_message=_("Give the absolute lymphocyte count, the CD3+ count or both."),
            ),
            models.CheckConstraint(
                condition=Q(absolute_lymphocytes__isnull=True) | Q(absolute_lymphocytes__gte=0),
                name="lymphocyte_count_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"ALC {self.absolute_lymphocytes}, CD3 {self.cd3_per_ul} ({self.date})"

    def clean(self):
        if _is_number(self.absolute_lymphocytes) and self.absolute_lymphocytes < 0:
            raise ValidationError({"absolute_lymphocytes": [_("A count cannot be negative.")]})


# Each kind of fact, by the name the API, the rules and the snapshots use.
FACT_MODELS: dict[str, type[Fact]] = {
    "cd19_results": Cd19Result,
    "relapses": Relapse,
    "therapy_lines": TherapyLine,
    "transplants": Transplant,
    "cns_assessments": CnsAssessment,
    "fitness": FitnessAssessment,
    "organ_function": OrganFunctionResult,
    "infections": Infection,
    "marrow": MarrowAssessment,
    "body_measurements": BodyMeasurement,
    "serology": SerologyResult,
    "lymphocyte_counts": LymphocyteCount,
}
FACT_FIELDS: dict[str, tuple[str, ...]] = {
    "cd19_results": ("status", "sample_type", "sample_date", "method"),
    "relapses": ("date", "site"),
    "therapy_lines": ("regimen", "start", "end", "best_response", "cd19_directed", "cd22_directed"),
    "transplants": ("date", "donor_type", "on_immunosuppression", "active_gvhd"),
    "cns_assessments": ("status", "date"),
    "fitness": ("scale", "score", "date"),
    "organ_function": ("test", "value", "unit", "upper_limit_normal", "date"),
    "infections": ("description", "status", "date"),
    "marrow": ("date", "blasts_percent", "mrd", "mrd_level", "mrd_method", "mrd_sensitivity"),
    "body_measurements": ("date", "weight_kg", "height_cm"),
    "serology": ("test", "result", "viral_load", "viral_load_unit", "date"),
    "lymphocyte_counts": ("date", "absolute_lymphocytes", "cd3_per_ul"),
}
# Facts a centre reads in the packet that the pre-screen rules do not read: they are left out
# of the pre-screen's input, so recording one does not store a new assessment.
FACTS_OUTSIDE_RULES = ("body_measurements", "serology", "lymphocyte_counts")
PROFILE_FIELDS = (
    "diagnosis_lineage",
    "diagnosis_method",
    "diagnosis_date",
    "primary_refractory",
    "first_remission_date",
    "reported_prior_lines",
    "prior_transplant",
    "philadelphia_status",
    "philadelphia_method",
    "philadelphia_date",
    "current_tki",
    "infections_reviewed_on",
)
PROFILE_SOURCE_FIELDS = ("diagnosis_source", "primary_refractory_source", "philadelphia_source")


class CentreCriteria(models.Model):
    """A centre's own variations of the rule set (age limits, CNS2, line counts)."""

    hospital = models.OneToOneField("hospitals.Hospital", on_delete=models.CASCADE, related_name="eligibility_criteria")
    min_age_months = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("Empty = base rule (1 year, review below).")
    )
    max_age_years = models.PositiveSmallIntegerField(null=True, blank=True, help_text=_("Empty = no upper limit."))
    cns2_policy = models.CharField(_("CNS2"), max_length=10, choices=CNS2_POLICY_CHOICES, default="review")
    min_prior_lines = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text=_("Empty = no minimum; relapsed/refractory status decides.")
    )
    cns3_policy = models.CharField(_("CNS3"), max_length=10, choices=CNS3_POLICY_CHOICES, default="exclude")
    thresholds = models.JSONField(
        default=dict,
        blank=True,
        help_text=_('Overrides of the base thresholds by name, e.g. {"ecog_met_max": 2}. Empty = base rules.'),
    )
    notes = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    history = HistoricalRecords()

    visibility = CentreRows("hospital_id")

    class Meta:
        verbose_name = _("centre criteria")
        verbose_name_plural = _("centre criteria")
        constraints = [
            models.CheckConstraint(
                condition=Q(min_age_months__isnull=True) | Q(max_age_years__isnull=True) | Q(max_age_years__gte=1),
                name="centre_criteria_max_age_positive",
            )
        ]

    def __str__(self) -> str:
        return f"Criteria of {self.hospital}"

    def clean(self):
        from django.core.exceptions import ValidationError

        try:
            thresholds = rules.thresholds_with(self.thresholds if isinstance(self.thresholds, dict) else None)
        except ValueError as exc:
            raise ValidationError({"thresholds": [str(exc)]})
        if self.thresholds and not isinstance(self.thresholds, dict):
            raise ValidationError({"thresholds": ["Give the overrides as an object of names and numbers."]})
        try:
            rules.RuleVariation(
                cns2_policy=self.cns2_policy, cns3_policy=self.cns3_policy, thresholds=thresholds
            ).check()
        except ValueError as exc:
            raise ValidationError({"cns3_policy": [str(exc)]})

    def variation(self) -> rules.RuleVariation:
        return rules.RuleVariation(
            centre=self.hospital.name_en,
            min_age_months=self.min_age_months,
            max_age_years=self.max_age_years,
            cns2_policy=self.cns2_policy,
            min_prior_lines=self.min_prior_lines,
            cns3_policy=self.cns3_policy,
            thresholds=rules.thresholds_with(self.thresholds),
        )


def _base_or_own_centre(user) -> Q:
    # A centre sees the base pre-screen and its own, not which other centres were considered.
    return Q(centre__isnull=True) | Q(centre_id=user.hospital_id)


class AssessmentQuerySet(VisibleQuerySet):
    def update(self, **kwargs):
        raise PermissionError("Assessments are never changed; run a new one.")


class Assessment(models.Model):
    """One run of the pre-screen: the rule-set version, the data it read, the outcome of each
    criterion, the verdict, who or what ran it and when. Never changed once stored."""

    class Trigger(models.TextChoices):
        MANUAL = "manual", _("Run by a coordinator")
        PROFILE_CHANGE = "profile_change", _("Clinical profile changed")
        OVERRIDE = "override", _("Criterion overridden")
        CENTRE_CRITERIA = "centre_criteria", _("Centre criteria changed")
        TARGET_CENTRES = "target_centres", _("Target centres changed")
        TIME_PASSED = "time_passed", _("Daily re-assessment (age or result validity)")

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="eligibility_assessments")
    centre = models.ForeignKey(
        "hospitals.Hospital",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="eligibility_assessments",
        help_text=_("Empty = the base rules."),
    )
    ruleset_version = models.CharField(max_length=40)
    assessed_on = models.DateField(help_text=_("The date ages and recency were computed for."))
    profile_snapshot = models.JSONField(help_text=_("The data the rules read."))
    variation = models.JSONField(default=dict)
    criteria = models.JSONField()
    notes = models.JSONField(default=list)
    verdict = models.CharField(max_length=30, choices=VERDICT_CHOICES, db_index=True)
    overridden = models.BooleanField(default=False)
    input_hash = models.CharField(max_length=64, help_text=_("Hash of everything the result depends on."))
    trigger = models.CharField(max_length=20, choices=Trigger.choices, default=Trigger.MANUAL)
    run_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    run_by_label = models.CharField(max_length=150, help_text=_("Who or what ran it."))
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    objects = AssessmentQuerySet.as_manager()
    visibility = clinical(hospital=_base_or_own_centre)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["case", "centre", "-created_at"])]

    def __str__(self) -> str:
        where = self.centre.name_en if self.centre_id else "base rules"
        return f"{self.case} · {where} · {self.get_verdict_display()} ({self.created_at:%Y-%m-%d %H:%M})"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise PermissionError("Assessments are never changed; run a new one.")
        super().save(*args, **kwargs)

    def criterion(self, name: str) -> dict:
        return next(c for c in self.criteria if c["criterion"] == name)


class OverrideQuerySet(VisibleQuerySet):
    def active(self):
        return self.filter(lapsed_at__isnull=True, revoked_at__isnull=True)


class CriterionOverride(models.Model):
    """A coordinator's decision on one criterion, with the reason. It applies to later runs
    until revoked, or until the computed outcome it replaced changes (then it lapses)."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="eligibility_overrides")
    centre = models.ForeignKey("hospitals.Hospital", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    criterion = models.CharField(max_length=20, choices=CRITERION_CHOICES)
    outcome = models.CharField(max_length=20, choices=OUTCOME_CHOICES)
    base_outcome = models.CharField(
        max_length=20, choices=OUTCOME_CHOICES, help_text=_("The computed outcome replaced.")
    )
    reason = models.TextField()
    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="overrides_made")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    lapsed_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = OverrideQuerySet.as_manager()
    visibility = clinical()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "centre", "criterion"],
                condition=Q(lapsed_at__isnull=True, revoked_at__isnull=True),
                nulls_distinct=False,
                name="one_active_override_per_criterion",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case} {self.criterion}: {self.base_outcome} → {self.outcome}"


PUBLISHED = Q(published_at__isnull=False, withdrawn_at__isnull=True)


class FamilySummaryQuerySet(VisibleQuerySet):
    def published(self):
        return self.filter(PUBLISHED)


class FamilySummary(models.Model):
    """A plain-language summary of an assessment for the family, in one language, that a
    coordinator published on purpose. The stored text is what the family saw."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="family_summaries")
    assessment = models.ForeignKey(Assessment, on_delete=models.PROTECT, related_name="family_summaries")
    language = models.CharField(max_length=10, choices=settings.LANGUAGES)
    text = models.TextField()
    published_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    published_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True, help_text=_("Set when a newer summary replaces it."))

    objects = FamilySummaryQuerySet.as_manager()
    # Families: only published summaries of their own case. Hospitals: none (they read the
    # assessments themselves).
    visibility = CaseRows("case", family=PUBLISHED, hospital=NOBODY)

    class Meta:
        ordering = ["-published_at", "-id"]
        verbose_name_plural = _("family summaries")
        constraints = [
            models.UniqueConstraint(
                fields=["case", "language"],
                condition=Q(published_at__isnull=False, withdrawn_at__isnull=True),
                name="one_published_summary_per_language",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case} summary ({self.language})"
