"""The family's pages: their case at a glance, records, sending records, dates, account."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.generic import TemplateView

from audit.mixins import AuditedCasePageMixin
from navigator.errors import DomainError
from scheduling.feed_tokens import calendar_link_issue, calendar_link_revoke, calendar_link_url
from scheduling.models import CalendarLink

from .. import formats, selectors, services
from ..forms import TokenForm, UploadDetailsForm
from ..mixins import CaseMixin, FamilyRequiredMixin


class AuditedCasePage(AuditedCasePageMixin, CaseMixin, TemplateView):
    """A case page: it shows medical data, so every view is in the audit log (ids only)."""


class HomeView(FamilyRequiredMixin, TemplateView):
    template_name = "portal/home.html"
    section = "home"

    def get(self, request, *args, **kwargs):
        cases = list(selectors.family_cases(request.user)[:20])
        if len(cases) == 1:
            return redirect("portal:case", cases[0].pk)
        return self.render_to_response(self.get_context_data(cases=cases))


class CaseView(AuditedCasePage):
    template_name = "portal/case.html"
    section = "overview"
    audit_page = "overview"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        case = self.get_case()
        rows, counts = selectors.checklist_with_counts(case)
        milestones = selectors.upcoming_milestones(case, self.request.user, limit=5)
        unread = selectors.unread_message_count(case, self.request.user)
        context.update(
            status=selectors.status_text(case),
            journey=selectors.journey(case),
            next_step=selectors.next_step(case, rows, milestones, unread),
            **counts,
            milestones=milestones[:3],
            unread=unread,
        )
        return context


class RecordsView(AuditedCasePage):
    template_name = "portal/records.html"
    section = "records"
    audit_page = "records"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        case = self.get_case()
        context["rows"] = selectors.checklist(case)
        context["documents"] = selectors.case_documents(case, self.request.user)
        context["doc_types"] = selectors.doc_type_choices()
        return context


class RecordFixView(RecordsView):
    """A file the family sent under the wrong record type, or by mistake: relabelled or withdrawn
    (POST) while nobody has started reviewing it. Read, it is the records page that lists them."""

    http_method_names = ["post"]

    def post(self, request, *args, **kwargs):
        from documents.models import Document
        from documents.services import document_family_relabel, document_family_withdraw

        case = self.get_case()
        document = Document.objects.visible_to(request.user).filter(case=case, pk=kwargs["document_id"]).first()
        if document is None:
            raise Http404
        try:
            if request.POST.get("action") == "withdraw":
                document_family_withdraw(document=document, actor=request.user)
                messages.success(request, _("The file is withdrawn."))
            else:
                document_family_relabel(
                    document=document, actor=request.user, doc_type=request.POST.get("doc_type", "")
                )
                messages.success(request, _("The record type is changed."))
        except DomainError as refused:
            if refused.code == "already_reviewed":
                messages.error(
                    request, _("This file is already being reviewed; write to your coordinator to change it.")
                )
            else:
                messages.error(request, _("Choose the type of record"))
        return redirect("portal:records", case.pk)


class ChecklistFragmentView(RecordsView):
    """The checklist alone, fetched by the upload page after each file to show the change."""

    template_name = "portal/_checklist.html"
    audit_page = "records"


class UploadView(AuditedCasePage):
    template_name = "portal/upload.html"
    section = "upload"
    audit_page = "upload"  # the checklist of records, beside the form

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        case = self.get_case()
        choices = selectors.doc_type_choices()
        wanted = self.request.GET.get("type", "")
        initial = {"doc_type": wanted} if wanted in dict(choices) else {}
        context["form"] = UploadDetailsForm(doc_types=choices, initial=initial)
        context["rows"] = selectors.checklist(case)
        context["chunk_size"] = getattr(settings, "PORTAL_UPLOAD_CHUNK_BYTES", 4 * 1024 * 1024)
        context["max_bytes"] = getattr(settings, "DOCUMENT_MAX_BYTES", 0)
        context["upload_endpoint"] = selectors.upload_endpoint()
        context["checklist_url"] = reverse("portal:checklist", args=[case.pk])
        context["upload_messages"] = upload_messages()
        return context


# Counts whose plural forms the upload script picks with the browser's Intl.PluralRules: one sample
# of each form in every portal language (zero, one, two, few, many, other).
PLURAL_SAMPLES = (0, 1, 2, 3, 5, 11, 21, 22, 25, 100, 101, 102, 111)


def plural_forms(text: Callable[[int], str]) -> dict[str, str]:
    """A count's text (an ``ngettext`` call) for each sample number, by the catalog's plural rule."""
    return {str(n): text(n) for n in PLURAL_SAMPLES}


def upload_messages() -> dict:
    """Texts the upload script shows, translated here so the script has no strings of its own."""
    return {
        "waiting": _("Waiting to start"),
        "starting": _("Starting…"),
        "uploading": _("Sending: %(percent)s%% · %(sent)s of %(total)s MB"),
        "resuming": _("Continuing where it stopped (%(percent)s%%)"),
        "retrying": plural_forms(
            lambda n: ngettext(
                "Connection lost. Trying again in %(count)s second…",
                "Connection lost. Trying again in %(count)s seconds…",
                n,
            )
        ),
        "seconds_left": plural_forms(
            lambda n: ngettext("About %(count)s second left", "About %(count)s seconds left", n)
        ),
        "minutes_left": plural_forms(
            lambda n: ngettext("About %(count)s minute left", "About %(count)s minutes left", n)
        ),
        "offline": _("You are offline. The upload continues when the connection is back."),
        "processing": _("Checking the file…"),
        "done": _("Received. Thank you."),
        "failed": _("Not sent: %(reason)s"),
        "duplicate": _("This file is already in your records; there is no need to send it again."),
        "too_large": _("This file is too large. Please send a smaller file or ask your coordinator."),
        "bad_type": _("This kind of file cannot be used. Please send a PDF, a photo (JPEG, PNG, HEIC) or a scan."),
        "empty": _("This file is empty."),
        "need_type": _("Choose what kind of record this is before sending."),
        "bad_date": _("The date of the report cannot be in the future."),
        "session": _("Your session has ended. Please sign in again; the upload will continue after that."),
        "generic": _("Something went wrong. Please try again, or write to your coordinator."),
        "cancelled": _("Cancelled."),
        "cancel": _("Cancel"),
        "left": plural_forms(
            lambda n: ngettext(
                "%(count)s file is still sending. Leaving this page pauses it; you can continue later.",
                "%(count)s files are still sending. Leaving this page pauses them; you can continue later.",
                n,
            )
        ),
        # The server's refusals by code, in the family's words (its own texts are English).
        "codes": {
            "duplicate": _("This file is already in your records; there is no need to send it again."),
            "file_too_large": _("This file is too large. Please send a smaller file or ask your coordinator."),
            "too_long": _("This file is too large. Please send a smaller file or ask your coordinator."),
            "file_empty": _("This file is empty."),
            "file_type": _("This kind of file cannot be used. Please send a PDF, a photo (JPEG, PNG, HEIC) or a scan."),
            "pdf_corrupt": _(
                "This PDF is damaged and cannot be opened. Please save or scan it again and send the new file."
            ),
            "pdf_encrypted": _(
                "This PDF is protected by a password. Please remove the password (or print it to a new PDF) and send it again."
            ),
            "zip_corrupt": _("This ZIP file is damaged. Please create it again."),
            "zip_encrypted": _("This ZIP file is protected by a password. Please create it again without a password."),
            "zip_path_traversal": _("This ZIP file cannot be used. Please create it again from the folder itself."),
            "zip_too_many_entries": _(
                "This ZIP file holds too many files. Please send the scan images in several parts."
            ),
            "zip_suspicious_ratio": _("This ZIP file cannot be used. Please send the files without compressing them."),
            "pdf_active_content": _(
                "This PDF contains a script or a program and cannot be used. Please print it to a new PDF "
                "(Print, then Save as PDF) or photograph the paper report, and send that."
            ),
            "ooxml_unexpected_part": _(
                "This Word or Excel file contains extra content (macros, embedded files) and cannot be used. "
                "Please save it as PDF and send that."
            ),
            "ooxml_active_content": _(
                "This Word or Excel file contains macros and cannot be used. Please save it as PDF and send that."
            ),
            "zip_not_dicom": _("A ZIP file can only hold scan images (DICOM). Please send the other files one by one."),
            "filename_path": _("The file name cannot be used. Please rename the file and try again."),
            "filename_control": _("The file name cannot be used. Please rename the file and try again."),
            "filename_dot": _("The file name cannot be used. Please rename the file and try again."),
            "filename_empty": _("The file name cannot be used. Please rename the file and try again."),
            "checksum_mismatch": _("Part of the file was damaged on the way. Please try again."),
            "upload_expired": _("This upload waited too long and has expired. Please add the file again."),
            "already_reviewed": _("This file is already being reviewed; write to your coordinator to change it."),
        },
    }


class MessagesView(AuditedCasePage):
    template_name = "portal/messages.html"
    section = "messages"
    audit_page = "messages"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        case = self.get_case()
        context.update(selectors.message_context(case, self.request.user))
        services.messages_mark_read(user=self.request.user, case=case)
        if "form" not in context:
            from ..forms import MessageForm

            context["form"] = MessageForm()
        return context

    def post(self, request, *args, **kwargs):
        from ..forms import MessageForm

        case = self.get_case()
        form = MessageForm(request.POST)
        if form.is_valid():
            try:
                services.family_message_send(
                    case=case, user=request.user, body=form.cleaned_data["body"], language=translation.get_language()
                )
            except DomainError:
                form.add_error("body", _("This message could not be sent. Please shorten it or try again."))
            else:
                messages.success(request, _("Your message is sent. Your coordinator will answer as soon as possible."))
                return redirect("portal:messages", case.pk)
        context = self.get_context_data(form=form)
        return self.render_to_response(context, status=400)


class ScheduleView(AuditedCasePage):
    template_name = "portal/schedule.html"
    section = "schedule"
    audit_page = "schedule"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        case = self.get_case()
        context["milestones"] = selectors.upcoming_milestones(case, self.request.user)
        plan = selectors.travel_plan(case, self.request.user)
        context["travel"] = plan["items"]
        context["travel_warnings"] = plan["warnings"]
        context["time_zone"] = timezone.get_current_timezone_name()
        context["time_zone_name"] = formats.isolate(formats.zone_name())
        context["calendar_links"] = list(
            CalendarLink.objects.visible_to(self.request.user).usable().filter(case=case, user=self.request.user)
        )
        context["new_calendar_link"] = self.request.session.pop("portal_new_calendar_link", None)
        return context


class CalendarLinksView(ScheduleView):
    """The family's calendar subscription links for a case: make one, or revoke one (POST).
    Read, it is the Dates page that lists them."""

    http_method_names = ["post"]  # the links are shown on the dates page; a GET here is a 405, not a 500

    def post(self, request, *args, **kwargs):
        case = self.get_case()
        if request.POST.get("action") == "revoke":
            link = CalendarLink.objects.visible_to(request.user).filter(case=case, pk=request.POST.get("link")).first()
            if link is None:
                raise Http404
            calendar_link_revoke(link=link, actor=request.user)
            messages.success(request, _("The calendar link is revoked: calendars using it no longer update."))
        else:
            link = calendar_link_issue(user=request.user, case=case, fresh=True)
            request.session["portal_new_calendar_link"] = calendar_link_url(request=request, link=link)
            messages.success(request, _("Your new calendar link is below. Copy it into your calendar app."))
        return redirect("portal:schedule", case.pk)


class CalendarView(AuditedCasePageMixin, CaseMixin, TemplateView):
    """The family's dates as an iCalendar file (all of them, or one)."""

    audit_page = "calendar"
    audit_kind = "download"

    def get(self, request, *args, **kwargs):
        case = self.get_case()
        items = selectors.calendar_items(case, request.user, milestone_id=kwargs.get("milestone_id"))
        if kwargs.get("milestone_id") and not items:
            from django.http import Http404

            raise Http404
        body = selectors.ics_for(case, items)
        name = (
            f"navigator-{case.pk}.ics"
            if not kwargs.get("milestone_id")
            else f"navigator-{case.pk}-{kwargs['milestone_id']}.ics"
        )
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        response["Cache-Control"] = "no-store"
        response.audit_detail = {"items": len(items)}
        return response


class EligibilityView(AuditedCasePage):
    template_name = "portal/eligibility.html"
    section = "eligibility"
    audit_page = "eligibility"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["summary"] = selectors.eligibility_summary(self.get_case(), self.request.user)
        return context


class AccountView(FamilyRequiredMixin, TemplateView):
    template_name = "portal/account.html"
    section = "account"

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user = self.request.user
        context["two_factor"] = services.two_factor_enabled(user)
        pending = services.totp_device_for(user, confirmed=False)
        if pending is not None and not context["two_factor"]:
            context["pending_secret"] = services.totp_secret_base32(pending)
            context["pending_uri"] = pending.config_url
        context.setdefault("token_form", TokenForm())
        context["time_zone"] = timezone.get_current_timezone_name()
        context["time_zone_name"] = formats.isolate(formats.zone_name())
        context["now"] = timezone.now()
        return context

    def post(self, request, *args, **kwargs):
        action = request.POST.get("action")
        user = request.user
        form = TokenForm(request.POST)
        if action == "2fa-start":
            services.two_factor_start(user=user)
            messages.info(request, _("Add the key below to your authenticator app, then enter the code it shows."))
            return redirect("portal:account")
        if action == "2fa-confirm" and form.is_valid():
            if services.two_factor_confirm(user=user, token=form.cleaned_data["token"]):
                messages.success(request, _("Two-step sign-in is on. You will need a code from your app to sign in."))
                return redirect("portal:account")
            form.add_error("token", _("This code is not right or has expired. Enter the newest code from your app."))
        elif action == "2fa-disable" and form.is_valid():
            if services.two_factor_disable(user=user, token=form.cleaned_data["token"]):
                messages.success(request, _("Two-step sign-in is off."))
                return redirect("portal:account")
            form.add_error("token", _("This code is not right or has expired. Enter the newest code from your app."))
        elif action not in ("2fa-confirm", "2fa-disable"):
            return redirect("portal:account")
        return self.render_to_response(self.get_context_data(token_form=form, token_action=action), status=400)
