"""What families read: case statuses, record types and checklist lines in plain words.

Kept in the portal (not in the apps that own the data) because this is the family's wording,
translated in the portal's catalogs; staff screens keep the clinical labels.
"""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from cases import workflow

# status -> (plain title, what it means, what the family does now when nothing else is asked)
STATUS_TEXT = {
    workflow.INQUIRY: (
        _("Getting started"),
        _(
            "We have your request. Your coordinator is getting to know the situation and will tell you which medical records to send."
        ),
        _("Send the medical records you already have."),
    ),
    workflow.RECORDS: (
        _("Collecting medical records"),
        _("We are gathering the medical records a hospital needs before it can consider CAR-T treatment."),
        _("Send the records that are still missing."),
    ),
    workflow.REVIEW: (
        _("Medical review"),
        _("Our medical team is reading the records you sent, to prepare the case for the hospitals."),
        _("Nothing to do right now. We will write to you when the review is done."),
    ),
    workflow.SCREENING: (
        _("Checking eligibility"),
        _(
            "We are comparing the records with the treatment criteria of the hospitals. This is a first check; the hospital's doctors decide."
        ),
        _("Nothing to do right now. Keep your phone and email at hand in case we need something."),
    ),
    workflow.REFERRED: (
        _("Sent to hospitals"),
        _("The case has been sent to one or more hospitals. Their doctors are looking at it."),
        _("Nothing to do right now. We will tell you as soon as a hospital answers."),
    ),
    workflow.ACCEPTED: (
        _("Accepted by a hospital"),
        _("A hospital has agreed to see the patient. Next we plan the journey and the admission together."),
        _("Check that the patient's passport is valid, and send a copy if you have not yet."),
    ),
    workflow.TRAVEL: (
        _("Travel and admission"),
        _("We are arranging the journey, the visa, where you will stay and the admission to hospital."),
        _("Look at your dates and travel plans, and tell us if anything does not work for you."),
    ),
    workflow.TREATMENT: (
        _("In treatment"),
        _("The patient is being treated at the hospital. Your coordinator stays in touch with the medical team."),
        _("Follow the hospital's instructions, and write to your coordinator with any question."),
    ),
    workflow.FOLLOW_UP: (
        _("Follow-up after the infusion"),
        _("The doctors check how the treatment is working, with tests around day 28 and day 60."),
        _("Stay near the treating hospital as the doctors asked, and keep your appointments."),
    ),
    workflow.TRANSPLANT: (
        _("Planning a transplant"),
        _("The doctors are planning a stem-cell transplant to help the result last."),
        _("Your coordinator will explain each step; write with any question."),
    ),
    workflow.CLOSED: (
        _("Closed"),
        _("This case is closed. You can still read its records and messages here."),
        _("Nothing to do. Write to your coordinator if you need anything."),
    ),
    workflow.NOT_ELIGIBLE: (
        _("This treatment does not fit now"),
        _(
            "The review found that this treatment path does not fit at the moment. Your coordinator will explain why and talk with you about other options."
        ),
        _("Read your coordinator's message, and ask any question you have."),
    ),
    workflow.DECLINED: (
        _("Not accepted by the hospitals"),
        _(
            "The hospitals did not accept the case at this time. Your coordinator will talk with you about other options."
        ),
        _("Read your coordinator's message, and ask any question you have."),
    ),
    workflow.WITHDRAWN: (
        _("Paused"),
        _("The case is paused. Write to your coordinator when you want to continue."),
        _("Write to your coordinator when you want to continue."),
    ),
    workflow.DECEASED: (
        _("Closed"),
        _("We are deeply sorry for your loss. Your coordinator remains available to you."),
        _("Nothing to do. Your coordinator remains available to you."),
    ),
}

# The main path, as the family sees the steps (a progress list on the overview page).
JOURNEY = [
    (workflow.RECORDS, _("Records")),
    (workflow.REVIEW, _("Review")),
    (workflow.REFERRED, _("Hospitals")),
    (workflow.TRAVEL, _("Travel")),
    (workflow.TREATMENT, _("Treatment")),
    (workflow.FOLLOW_UP, _("Follow-up")),
]

# Record types in family words (the documents app's taxonomy keys).
DOC_TYPE_LABELS = {
    "diagnosis_pathology": _("Diagnosis report (pathology, immunophenotyping)"),
    "cd19_flow": _("CD19 test (flow cytometry)"),
    "bone_marrow": _("Bone marrow test report"),
    "mrd_report": _("MRD (minimal residual disease) report"),
    "cytogenetics": _("Genetic tests (cytogenetics, BCR::ABL1)"),
    "treatment_history": _("Treatment history"),
    "transplant_record": _("Transplant record"),
    "csf_cns": _("Spinal fluid (CSF) results"),
    "blood_counts": _("Recent blood tests"),
    "infection_serology": _("Infection tests (serology)"),
    "imaging_report": _("Scan report (CT, MRI, PET)"),
    "imaging_study": _("Scan images (DICOM)"),
    "discharge_summary": _("Hospital discharge summary"),
    "passport_id": _("Passport"),
    "consent": _("Signed consent form"),
    "other": _("Other document"),
}

# Checklist lines (the documents app's requirement keys) in family words, with a hint.
REQUIREMENT_TEXT = {
    "diagnosis": (
        _("Diagnosis report"),
        _("The report that first confirmed B-cell ALL, with the immunophenotyping (flow cytometry) results."),
    ),
    "cd19": (
        _("Latest CD19 test"),
        _("The most recent flow cytometry report showing CD19. It must be from the latest sample."),
    ),
    "bone_marrow": (_("Bone marrow test"), _("The latest bone marrow aspirate report, with the percentage of blasts.")),
    "mrd": (_("MRD reports"), _("Reports of minimal residual disease tests, if any were done.")),
    "cytogenetics": (
        _("Genetic tests"),
        _("Cytogenetics and molecular results, for example BCR::ABL1 (Philadelphia chromosome)."),
    ),
    "treatment_history": (
        _("Treatment history"),
        _("All treatments so far with their dates and results, including blinatumomab or earlier CAR-T."),
    ),
    "transplant": (
        _("Transplant records"),
        _("Only if the patient had a stem-cell transplant: date, donor, GvHD and medicines."),
    ),
    "cns": (
        _("Spinal fluid (CSF) results"),
        _("Results of the spinal fluid tests that show whether the brain and spine are affected."),
    ),
    "blood_counts": (_("Recent blood tests"), _("Blood counts and liver and kidney tests from the last few weeks.")),
    "serology": (_("Infection tests"), _("Tests for hepatitis B and C, HIV and other infections.")),
    "imaging": (_("Scans"), _("Only if the disease is outside the bone marrow: the scan reports or images.")),
    "passport": (_("Passport"), _("A clear photo or scan of the patient's passport page with the photo.")),
}

CHECKLIST_STATE_TEXT = {
    "satisfied": (_("Accepted"), _("Thank you. This record is checked and accepted.")),
    "in_review": (_("In review"), _("We have it and are checking it. Nothing to do.")),
    "requested": (_("Needed"), _("Your coordinator asked for this record. Please send it.")),
    "overdue": (
        _("Needed, overdue"),
        _("Your coordinator asked for this record and the date has passed. Please send it as soon as you can."),
    ),
    "rejected": (_("Not usable"), _("We could not use the copy you sent. Please send a new one.")),
    "missing": (_("Needed"), _("Please send this record if you have it.")),
}

OPTIONAL_MISSING_TEXT = (_("Only if it applies"), _("Send it only if it applies to the patient."))

REVIEW_STATUS_TEXT = {
    "received": _("Received"),
    "in_review": _("In review"),
    "accepted": _("Accepted"),
    "rejected": _("Not usable"),
    "superseded": _("Replaced by a newer copy"),
}

# Travel milestones (the travel app's keys "travel-<what>:<id>") in family words.
TRAVEL_MILESTONE_TEXT = {
    "travel-departure": _("Flight departure"),
    "travel-admission": _("Admission to hospital"),
    "travel-visa": _("Visa: your next step"),
}

# City names by airport for the routes families fly (the airport data names cities in English
# only). An airport not listed here shows the airport data's English city name.
_MOSCOW, _BEIJING, _SHANGHAI, _CHENGDU, _ISTANBUL = (
    _("Moscow"),
    _("Beijing"),
    _("Shanghai"),
    _("Chengdu"),
    _("Istanbul"),
)
CITY_BY_AIRPORT = {
    "SVO": _MOSCOW,
    "DME": _MOSCOW,
    "VKO": _MOSCOW,
    "LED": _("St Petersburg"),
    "KZN": _("Kazan"),
    "SVX": _("Yekaterinburg"),
    "OVB": _("Novosibirsk"),
    "VVO": _("Vladivostok"),
    "KHV": _("Khabarovsk"),
    "PEK": _BEIJING,
    "PKX": _BEIJING,
    "PVG": _SHANGHAI,
    "SHA": _SHANGHAI,
    "CAN": _("Guangzhou"),
    "SZX": _("Shenzhen"),
    "CTU": _CHENGDU,
    "TFU": _CHENGDU,
    "TSN": _("Tianjin"),
    "WUH": _("Wuhan"),
    "HGH": _("Hangzhou"),
    "URC": _("Urumqi"),
    "ALA": _("Almaty"),
    "NQZ": _("Astana"),
    "TAS": _("Tashkent"),
    "CAI": _("Cairo"),
    "RUH": _("Riyadh"),
    "JED": _("Jeddah"),
    "DXB": _("Dubai"),
    "AUH": _("Abu Dhabi"),
    "AMM": _("Amman"),
    "BEY": _("Beirut"),
    "BGW": _("Baghdad"),
    "KWI": _("Kuwait City"),
    "DOH": _("Doha"),
    "IST": _ISTANBUL,
    "SAW": _ISTANBUL,
    "TBS": _("Tbilisi"),
    "EVN": _("Yerevan"),
    "GYD": _("Baku"),
}
