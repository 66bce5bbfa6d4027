"""A faster ``{% result_list %}`` for the busiest changelists and a faster admin sidebar, with the
same markup as Django's.

Django's ``items_for_result`` works out, for every cell of every row, what the column is (a model
field, an admin method, a property), which label, link and empty value it takes, and builds each
piece with ``format_html``. On the case list (50 rows, 9 columns) that was about half of the page's
server time. Here the column plan is made once per page; each cell then costs one call or attribute
read and one escape, and a row reaches the template as one piece. The output (classes, the first column's link with the preserved filters, the
action checkbox) is what ``admin/change_list_results.html`` renders for Django's tag.

Used by admins that set ``change_list_template`` to ``admin/navigator/fast_change_list.html``.
List-editable changelists (a formset) are rendered by Django's own tag: their cells are forms.

The navigation sidebar (every admin page) lists each app and model the user may open: about 60
rows, which ``admin/app_list.html`` took 5 ms to render on every page. ``navigator_app_list``
writes the same markup (``templates/admin/nav_sidebar.html`` uses it; the index page keeps
Django's template, with its change links). The filters beside the fast changelist are written the
same way (``navigator_list_filter``, for filters that use Django's ``admin/filter.html``).
"""

from __future__ import annotations

import datetime
import html as html_lib
from decimal import Decimal

from django import template
from django.contrib.admin.templatetags.admin_list import (
    admin_list_filter,
    result_headers,
    result_hidden_fields,
    result_list,
)
from django.contrib.admin.templatetags.admin_urls import add_preserved_filters
from django.contrib.admin.utils import display_for_field, display_for_value, quote
from django.core.exceptions import FieldDoesNotExist
from django.db import models
from django.template.defaultfilters import urlencode
from django.urls import NoReverseMatch
from django.utils.encoding import iri_to_uri
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

register = template.Library()

# Letters only: the admin quotes primary keys in URLs (an underscore would become "_5F").
PK_MARK = "navigatorpkmark"


def _column(cl, name, index: int):
    """(kind, getter, css class) for one list_display entry, worked out once per page."""
    model_admin, opts = cl.model_admin, cl.opts
    css = f"field-{name if isinstance(name, str) else getattr(name, '__name__', index)}"
    if name == "action_checkbox":
        return "checkbox", model_admin.action_checkbox, "action-checkbox", False
    if callable(name):
        return "call", name, css, getattr(name, "boolean", False)
    try:
        field = opts.get_field(name)
    except FieldDoesNotExist:
        field = None
    if field is not None and not field.auto_created:
        if field.choices:
            # Labels are lazy translations: each is translated once per page, not once per row.
            labels = {value: str(label) for value, label in field.flatchoices}
            return (
                "text",
                lambda obj, attr=field.attname: labels.get(getattr(obj, attr), getattr(obj, attr)),
                css,
                False,
            )
        if isinstance(field, models.ForeignKey):
            return "text", lambda obj, attr=field.name: getattr(obj, attr), f"{css} nowrap", False
        if isinstance(field, (models.CharField, models.TextField, models.IntegerField, models.AutoField)):
            return "text", lambda obj, attr=field.attname: getattr(obj, attr), css, False
        # Dates, booleans, decimals: Django's own formatting, per cell.
        empty = model_admin.get_empty_value_display()
        return "html", lambda obj, f=field: display_for_field(getattr(obj, f.attname), f, empty), css, False
    attr = getattr(model_admin, name, None)
    if callable(attr):
        return "call", attr, css, getattr(attr, "boolean", False)
    return "text", lambda obj, attr=name: getattr(obj, attr), css, False


def _escape(value) -> str:
    """``conditional_escape`` without the lazy-argument check Django wraps it in (a tenth of the
    rows' time): safe text (anything with ``__html__``) as it is, anything else escaped."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html_lib.escape(str(value))


def _cells(cl):
    empty = _escape(cl.model_admin.get_empty_value_display())
    columns = [_column(cl, name, i) for i, name in enumerate(cl.list_display)]
    links = cl.list_display_links
    link_names = {cl.list_display[1 if cl.list_display[0] == "action_checkbox" else 0]} if not links else set(links)
    try:
        url_template = cl.url_for_result(_Placeholder(cl.opts.pk.attname))
    except NoReverseMatch:
        url_template = None
    if url_template:
        url_template = add_preserved_filters({"preserved_filters": cl.preserved_filters, "opts": cl.opts}, url_template)
    popup = cl.is_popup
    pk_attr = cl.to_field or cl.opts.pk.attname
    for obj in cl.result_list:
        row = []
        first = True
        for name, (kind, getter, css, boolean) in zip(cl.list_display, columns, strict=True):
            value = getter(obj)
            if kind == "checkbox":
                # action_checkbox returns format_html's safe string; anything else is escaped.
                row.append(mark_safe(f'<td class="action-checkbox">{_escape(value)}</td>'))  # noqa: S308
                continue
            if kind == "html":
                html = _escape(value)
            elif boolean or isinstance(value, (bool, datetime.date, datetime.time, Decimal, float, list, tuple)):
                html = _escape(display_for_value(value, empty, boolean))
                if isinstance(value, (datetime.date, datetime.time)):
                    css = f"{css} nowrap"
            elif value is None or (isinstance(value, str) and not value.strip()):
                html = empty
            else:
                html = _escape(value)
            if name in link_names and url_template:
                url = url_template.replace(PK_MARK, str(quote(obj.pk)))
                opener = f' data-popup-opener="{_escape(obj.serializable_value(pk_attr))}"' if popup else ""
                tag = "th" if first else "td"
                first = False
                cell = f'<{tag} class="{_escape(css)}"><a href="{_escape(url)}"{opener}>{html}</a></{tag}>'
                row.append(mark_safe(cell))  # noqa: S308 - every part is escaped above
            else:
                row.append(mark_safe(f'<td class="{_escape(css)}">{html}</td>'))  # noqa: S308 - escaped above
        yield row


class _Placeholder:
    """Stands for a row when the change URL is reversed once per page."""

    def __init__(self, attname: str):
        setattr(self, attname, PK_MARK)
        self.pk = PK_MARK

    def serializable_value(self, name):
        return PK_MARK


class _Row(list):
    """A row as ``admin/change_list_results.html`` reads it: its cells, and no form (Django's
    ``ResultList`` has one only on list-editable pages, which keep Django's tag)."""

    form = None


def fast_result_list(cl):
    if cl.formset:
        return result_list(cl)
    headers = list(result_headers(cl))
    return {
        "cl": cl,
        "result_hidden_fields": list(result_hidden_fields(cl)),
        "result_headers": headers,
        "num_sorted_fields": sum(1 for h in headers if h["sortable"] and h["sorted"]),
        # Each row's cells joined into one piece: the template writes the same HTML, with one
        # variable to render a row instead of one a cell (a tenth of the rows' rendering).
        "results": [_Row([mark_safe("".join(row))]) for row in _cells(cl)],  # noqa: S308 - cells are safe
    }


@register.inclusion_tag("admin/change_list_results.html")
def navigator_result_list(cl):
    return fast_result_list(cl)


def app_list_html(app_list, path: str) -> str:
    """``admin/app_list.html`` without change links (the sidebar's), for the page at ``path``."""
    if not app_list:
        return mark_safe(f"<p>{_escape(gettext('You don’t have permission to view or edit anything.'))}</p>")  # noqa: S308
    here = urlencode(path)
    head = (
        '<thead class="visually-hidden"><tr>'
        f'<th scope="col">{_escape(gettext("Model name"))}</th>'
        f'<th scope="col">{_escape(gettext("Add link"))}</th>'
        f'<th scope="col">{_escape(gettext("Change or view list link"))}</th>'
        "</tr></thead>"
    )
    add = _escape(gettext("Add"))
    html = []
    for app in app_list:
        label = _escape(app["app_label"])
        name = _escape(app["name"])
        title = gettext("Models in the %(name)s application") % {"name": name}
        current_app = " current-app" if app["app_url"] in here else ""
        html.append(
            f'<div class="app-{label} module{current_app}"><table><caption>'
            f'<a href="{_escape(app["app_url"])}" class="section" title="{title}">{name}</a></caption>{head}'
        )
        for model in app["models"]:
            model_name = _escape(model["object_name"].lower())
            url = model["admin_url"]
            current = bool(url) and url in here
            html.append(
                f'<tr class="model-{model_name}{" current-model" if current else ""}">'
                f'<th scope="row" id="{label}-{model_name}">'
            )
            if url:
                aria = ' aria-current="page"' if current else ""
                html.append(f'<a href="{_escape(url)}"{aria}>{_escape(model["name"])}</a>')
            else:
                html.append(_escape(model["name"]))
            html.append("</th>")
            if model["add_url"]:
                html.append(
                    f'<td><a href="{_escape(model["add_url"])}" class="addlink"'
                    f' aria-describedby="{label}-{model_name}">{add}</a></td>'
                )
            else:
                html.append("<td></td>")
            html.append("</tr>")
        html.append("</table></div>")
    return mark_safe("".join(html))  # noqa: S308 - every part is escaped above


@register.simple_tag(takes_context=True)
def navigator_app_list(context, app_list):
    return app_list_html(app_list, context["request"].path)


def list_filter_html(cl, spec) -> str:
    """One filter of the changelist's sidebar: what ``admin_list_filter`` renders, written here when
    the filter uses Django's ``admin/filter.html`` (six filters of about forty choices took 2 ms to
    render through the template on every case list); any other template is Django's to render."""
    if spec.template != "admin/filter.html":
        return admin_list_filter(cl, spec)
    title = _escape(spec.title)
    html = [
        f'<details data-filter-title="{title}" open><summary>',
        gettext(" By %(filter_title)s ") % {"filter_title": title},
        "</summary><ul>",
    ]
    for choice in spec.choices(cl):
        selected = ' class="selected"' if choice["selected"] else ""
        href = _escape(iri_to_uri(choice["query_string"]))
        html.append(f'<li{selected}><a href="{href}">{_escape(choice["display"])}</a></li>')
    html.append("</ul></details>")
    return mark_safe("".join(html))  # noqa: S308 - every part is escaped above


@register.simple_tag
def navigator_list_filter(cl, spec):
    return list_filter_html(cl, spec)
