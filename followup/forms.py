from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy

from .models import FollowUpResult
from .services import Discharge


class ResultForm(forms.Form):
    """The home haematologist's result, in their language (the page activates it)."""

    kind = forms.ChoiceField(label=gettext_lazy("Result"), choices=FollowUpResult.Kind.choices)
    date = forms.DateField(label=gettext_lazy("Sample or event date"), widget=forms.DateInput(attrs={"type": "date"}))
    value = forms.DecimalField(
        label=gettext_lazy("Value"),
        required=False,
        max_digits=10,
        decimal_places=3,
        help_text=gettext_lazy("e.g. IgG in g/L"),
    )
    unit = forms.CharField(label=gettext_lazy("Unit"), required=False, max_length=20)
    # One list for every kind of result; the services check that the finding fits the kind.
    finding = forms.ChoiceField(
        label=gettext_lazy("Finding"),
        required=False,
        choices=[
            ("", gettext_lazy("(none)")),
            (gettext_lazy("MRD"), [("negative", gettext_lazy("negative")), ("positive", gettext_lazy("positive"))]),
            (
                gettext_lazy("CAR-T persistence / B-cell aplasia"),
                [("present", gettext_lazy("B-cell aplasia present")), ("lost", gettext_lazy("B-cell aplasia lost"))],
            ),
            (
                gettext_lazy("Relapse"),
                [
                    ("marrow", gettext_lazy("bone marrow")),
                    ("cns", gettext_lazy("central nervous system")),
                    ("extramedullary", gettext_lazy("extramedullary")),
                ],
            ),
        ],
        help_text=gettext_lazy("For MRD, CAR-T persistence and relapse; leave empty for other results."),
    )
    notes = forms.CharField(
        label=gettext_lazy("Notes"), required=False, widget=forms.Textarea(attrs={"rows": 3}), max_length=2000
    )


class DischargeForm(forms.Form):
    """The discharge letter's facts the records do not hold."""

    product = forms.CharField(max_length=200, help_text="e.g. CD19 CAR-T (centre's product name)")
    dose = forms.CharField(max_length=200, help_text="e.g. 1.0 x 10^6 CAR+ T cells/kg")
    response = forms.CharField(max_length=200, help_text="e.g. CR, MRD-negative by flow at day 28")
    discharge_date = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}))
    crs_grade = forms.IntegerField(required=False, min_value=1, max_value=4, label="CRS grade (ASTCT)")
    crs_onset = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    crs_resolved = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    icans_grade = forms.IntegerField(required=False, min_value=1, max_value=4, label="ICANS grade (ASTCT)")
    icans_onset = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    icans_resolved = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    medications = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 4}), help_text="One per line: name | dose and schedule"
    )
    watch_for = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="Extra points, one per line"
    )

    def clean(self):
        data = super().clean()
        for kind in ("crs", "icans"):
            grade, onset = data.get(f"{kind}_grade"), data.get(f"{kind}_onset")
            if grade and not onset:
                self.add_error(f"{kind}_onset", "Give the onset date of this grade.")
            if onset and not grade:
                self.add_error(f"{kind}_grade", "Give the grade.")
        return data

    def discharge(self):
        data = self.cleaned_data

        def events(kind):
            if not data.get(f"{kind}_grade"):
                return []
            return [
                {
                    "grade": data[f"{kind}_grade"],
                    "onset": data[f"{kind}_onset"],
                    "resolved": data.get(f"{kind}_resolved"),
                }
            ]

        medications = []
        for line in (data.get("medications") or "").splitlines():
            name, _, dose = line.partition("|")
            if name.strip():
                medications.append({"name": name.strip(), "dose": dose.strip()})
        return Discharge(
            product=data["product"],
            dose=data["dose"],
            response=data["response"],
            discharge_date=data["discharge_date"],
            crs=events("crs"),
            icans=events("icans"),
            medications=medications,
            watch_for=[w for w in (data.get("watch_for") or "").splitlines() if w.strip()],
        )
