"""The desk's pages, under /admin/ (before the admin's own URLs, so /admin/ is Today)."""

from django.contrib import admin
from django.urls import path

from . import views

app_name = "desk"

urlpatterns = [
    path("", admin.site.admin_view(views.today), name="today"),
    path("supervisors/", admin.site.admin_view(views.supervisors), name="supervisors"),
    path("saved-filters/", admin.site.admin_view(views.saved_filter_save), name="saved-filter-save"),
    path(
        "saved-filters/<int:pk>/delete/", admin.site.admin_view(views.saved_filter_delete), name="saved-filter-delete"
    ),
    path("reassign/", admin.site.admin_view(views.reassign), name="reassign"),
    path("time-zone/", admin.site.admin_view(views.time_zone), name="time-zone"),
]
