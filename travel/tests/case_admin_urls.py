"""The whole admin, with the travel inlines added to the case page as the lead adds them
to CaseAdmin (tests only; the project's admin site is left untouched)."""

from django.contrib import admin
from django.urls import path

from cases.admin import CaseAdmin
from cases.models import Case
from travel.admin import TRAVEL_CASE_INLINES

site = admin.AdminSite(name="admin")


class CaseWithTravelAdmin(CaseAdmin):
    inlines = [*CaseAdmin.inlines, *TRAVEL_CASE_INLINES]


for model, model_admin in admin.site._registry.items():
    site.register(model, CaseWithTravelAdmin if model is Case else type(model_admin))

urlpatterns = [path("admin/", site.urls)]
