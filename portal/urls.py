from django.urls import path

from .views import auth, notices, options, pages, pwa

app_name = "portal"

urlpatterns = [
    path("", pages.HomeView.as_view(), name="home"),
    # The installable app: manifest, service worker (scope: the portal), offline page
    path("manifest.webmanifest", pwa.ManifestView.as_view(), name="manifest"),
    path("sw.js", pwa.ServiceWorkerView.as_view(), name="service_worker"),
    path("offline/", pwa.OfflineView.as_view(), name="offline"),
    # Access
    path("login/", auth.LoginView.as_view(), name="login"),
    path("login/code/", auth.LoginVerifyView.as_view(), name="login_verify"),
    path("logout/", auth.LogoutView.as_view(), name="logout"),
    path("invitation/<str:token>/", auth.AcceptInvitationView.as_view(), name="accept_invitation"),
    path("language/", auth.SetLanguageView.as_view(), name="set_language"),
    path("password/reset/", auth.PasswordResetView.as_view(), name="password_reset"),
    path("password/reset/sent/", auth.PasswordResetDoneView.as_view(), name="password_reset_done"),
    path("password/reset/<uidb64>/<token>/", auth.PasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("password/reset/done/", auth.PasswordResetCompleteView.as_view(), name="password_reset_complete"),
    path("account/", pages.AccountView.as_view(), name="account"),
    path("account/password/", auth.PasswordChangeView.as_view(), name="password_change"),
    path("account/notifications/", notices.NotificationsView.as_view(), name="notifications"),
    path("notifications/stop/<str:token>/", notices.UnsubscribeView.as_view(), name="unsubscribe"),
    # A case (ids only in URLs: no names, no diagnoses)
    path("cases/<int:case_id>/", pages.CaseView.as_view(), name="case"),
    path("cases/<int:case_id>/records/", pages.RecordsView.as_view(), name="records"),
    path("cases/<int:case_id>/records/<int:document_id>/", pages.RecordFixView.as_view(), name="record_fix"),
    path("cases/<int:case_id>/records/checklist/", pages.ChecklistFragmentView.as_view(), name="checklist"),
    path("cases/<int:case_id>/send/", pages.UploadView.as_view(), name="upload"),
    path("cases/<int:case_id>/messages/", pages.MessagesView.as_view(), name="messages"),
    path("cases/<int:case_id>/dates/", pages.ScheduleView.as_view(), name="schedule"),
    path("cases/<int:case_id>/dates/links/", pages.CalendarLinksView.as_view(), name="calendar_links"),
    path("cases/<int:case_id>/dates/calendar.ics", pages.CalendarView.as_view(), name="calendar"),
    path("cases/<int:case_id>/dates/<int:milestone_id>.ics", pages.CalendarView.as_view(), name="calendar_item"),
    path("cases/<int:case_id>/eligibility/", pages.EligibilityView.as_view(), name="eligibility"),
    path("cases/<int:case_id>/options/", options.OptionsView.as_view(), name="options"),
]
