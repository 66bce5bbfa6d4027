"""The family's notification preferences, and the unsubscribe link of every notification."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.generic import TemplateView

from cases.models import FamilyContact
from notifications.services import (
    PREFERENCE_FIELDS,
    contact_for_unsubscribe_token,
    notice_preference_update,
    notice_unsubscribe,
    preference_of,
)

from ..forms import NoticePreferenceForm
from ..languages import portal_language
from ..mixins import FamilyRequiredMixin, PortalPageMixin


def _initial(contact: FamilyContact) -> dict:
    preference = preference_of(contact)
    initial = {name: getattr(preference, name) for name in PREFERENCE_FIELDS}
    initial["subscribed"] = preference.unsubscribed_at is None
    return initial


class NotificationsView(FamilyRequiredMixin, TemplateView):
    """One form per family contact the signed-in member is (usually one)."""

    template_name = "portal/notifications.html"
    section = "account"

    def contacts(self):
        return list(FamilyContact.objects.filter(user=self.request.user).order_by("pk"))

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        bound = kwargs.get("bound")
        context["forms"] = [
            (
                contact,
                bound
                if bound is not None and bound.contact.pk == contact.pk
                else NoticePreferenceForm(initial=_initial(contact), contact=contact, prefix=f"c{contact.pk}"),
            )
            for contact in self.contacts()
        ]
        return context

    def post(self, request, *args, **kwargs):
        contact = next((c for c in self.contacts() if str(c.pk) == request.POST.get("contact")), None)
        if contact is None:
            raise Http404
        form = NoticePreferenceForm(request.POST, contact=contact, prefix=f"c{contact.pk}")
        if not form.is_valid():
            return self.render_to_response(self.get_context_data(bound=form), status=400)
        data = dict(form.cleaned_data)
        subscribed = data.pop("subscribed")
        notice_preference_update(contact=contact, actor=request.user, subscribed=subscribed, **data)
        messages.success(request, _("Your notification choices are saved."))
        return redirect("portal:notifications")


@method_decorator(csrf_exempt, name="dispatch")  # the signed token is the credential (RFC 8058 one-click)
class UnsubscribeView(PortalPageMixin, TemplateView):
    """Works without signing in: the link's signed token names the contact. Opening the link
    asks to confirm (mail scanners open links); the button, or a mail client's one-click
    request (``List-Unsubscribe-Post``), unsubscribes."""

    template_name = "portal/unsubscribe.html"

    def dispatch(self, request, *args, **kwargs):
        self.contact = contact_for_unsubscribe_token(kwargs["token"])
        return super().dispatch(request, *args, **kwargs)

    def _in_their_language(self):
        if self.contact is not None and not self.request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME):
            translation.activate(portal_language(self.contact.language))
            self.request.LANGUAGE_CODE = translation.get_language()

    def get(self, request, *args, **kwargs):
        self._in_their_language()
        if self.contact is None:
            return self.render_to_response(self.get_context_data(invalid=True), status=404)
        done = preference_of(self.contact).unsubscribed_at is not None
        return self.render_to_response(self.get_context_data(done=done))

    def post(self, request, *args, **kwargs):
        self._in_their_language()
        if self.contact is None:
            return self.render_to_response(self.get_context_data(invalid=True), status=404)
        notice_unsubscribe(contact=self.contact, via="link")
        return self.render_to_response(self.get_context_data(done=True))
