from django.urls import path

from . import views

app_name = "followup"

# The home haematologist's pages: a token in the URL, no account.
urlpatterns = [
    path("<str:token>/", views.HandbackPage.as_view(), name="handback"),
    path("<str:token>/handback.pdf", views.HandbackFile.as_view(), {"fmt": "pdf"}, name="handback_pdf"),
    path("<str:token>/handback.fhir.json", views.HandbackFile.as_view(), {"fmt": "json"}, name="handback_fhir"),
]
