from django.contrib import admin

from .models import Hospital, Referral


@admin.register(Hospital)
class HospitalAdmin(admin.ModelAdmin):
    list_display = ("code", "name_en", "name_zh", "city", "country", "is_active")
    search_fields = ("code", "name_en", "name_zh", "city")
    list_filter = ("country", "is_active")


@admin.register(Referral)
class ReferralAdmin(admin.ModelAdmin):
    list_display = ("case", "hospital", "status", "sent_at")
    list_select_related = ("case", "hospital")
    list_filter = ("status", "hospital")
    raw_id_fields = ("case",)
    autocomplete_fields = ("hospital",)
    search_fields = ("case__reference",)
