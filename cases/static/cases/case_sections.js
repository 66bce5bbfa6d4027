"use strict";
// The case page's sections load when they are opened (cases/admin.py, CaseAdmin.section_view).
//
// Each closed section is a <details data-section-url="..."> whose body holds a link to the page with
// the section rendered in it (?open=<section>), which is what works without this script. With it,
// opening a section fetches its body and puts it in place; the body is part of the case's form
// (its inlines are saved with the case). A section named by the address (#tab-records) opens on
// load, and the links of the section list open their section instead of loading the page again.
{
    const loaded = new WeakSet();

    // What Django's admin scripts do for inlines and widgets on page load, for a body put in later
    // (admin/js/inlines.js, DateTimeShortcuts.js, RelatedObjectLookups.js).
    function prepare(body) {
        const $ = window.django && window.django.jQuery;
        if ($) {
            $(body).find(".js-inline-admin-formset").each(function() {
                const data = $(this).data();
                const inline = data.inlineFormset;
                let selector;
                if (data.inlineType === "tabular" && $.fn.tabularFormset) {
                    selector = inline.name + "-group .tabular.inline-related tbody:first > tr.form-row";
                    $(selector).tabularFormset(selector, inline.options);
                } else if (data.inlineType === "stacked" && $.fn.stackedFormset) {
                    selector = inline.name + "-group .inline-related";
                    $(selector).stackedFormset(selector, inline.options);
                }
            });
            $(body).find(".related-widget-wrapper select").trigger("change");
            if ($.fn.djangoAdminSelect2) {
                $(body).find(".admin-autocomplete").not("[name*=__prefix__]").djangoAdminSelect2();
            }
        }
        const shortcuts = window.DateTimeShortcuts;
        if (shortcuts) {
            for (const input of body.querySelectorAll("input[type=text]:not([name*=__prefix__])")) {
                if (input.classList.contains("vTimeField")) {
                    shortcuts.addClock(input);
                    shortcuts.addTimezoneWarning(input);
                } else if (input.classList.contains("vDateField")) {
                    shortcuts.addCalendar(input);
                    shortcuts.addTimezoneWarning(input);
                }
            }
        }
    }

    function fallback(details) {
        return details.querySelector(".workplace-section-fallback a");
    }

    async function load(details) {
        if (loaded.has(details) || details.hasAttribute("data-loaded")) {
            return;
        }
        loaded.add(details);
        const body = details.querySelector(".workplace-section");
        const link = fallback(details);
        body.setAttribute("aria-busy", "true");
        let failure = "";
        try {
            const response = await fetch(details.dataset.sectionUrl, {
                credentials: "same-origin",
                headers: {"Accept": "text/html"},
                redirect: "manual",
            });
            if (response.ok) {
                body.innerHTML = await response.text();
                details.setAttribute("data-loaded", "");
                prepare(body);
            } else {
                // A redirect is the sign-in page: the session ended.
                failure = response.type === "opaqueredirect" ? "you are signed out" : `error ${response.status}`;
            }
        } catch (error) {
            failure = "the server could not be reached";
        }
        body.removeAttribute("aria-busy");
        if (failure) {
            loaded.delete(details);
            const note = document.createElement("p");
            note.className = "errornote workplace-section-error";
            note.textContent = `This section could not be loaded (${failure}). `;
            if (link) {
                const again = document.createElement("a");
                again.href = link.getAttribute("href");
                again.textContent = "Open the page with this section";
                note.append(again);
            }
            body.querySelector(".workplace-section-error")?.remove();
            body.prepend(note);
        }
    }

    function sectionNamed(hash) {
        const details = hash && hash.startsWith("#tab-") ? document.getElementById(hash.slice(1)) : null;
        return details && details.matches("details[data-section-url]") ? details : null;
    }

    function openSection(details, scroll) {
        if (details.open) {
            load(details);
        } else {
            details.open = true;  // the toggle event loads it
        }
        if (scroll) {
            details.scrollIntoView({block: "start"});
        }
    }

    function start() {
        const sections = document.querySelectorAll("details.workplace-tab[data-section-url]");
        for (const details of sections) {
            details.addEventListener("toggle", () => {
                if (details.open) {
                    load(details);
                }
            });
            if (details.open) {
                load(details);
            }
        }
        // The section list and the links of closed sections: open in place, keep the address.
        document.addEventListener("click", (event) => {
            const link = event.target.closest("a[data-section], .workplace-section-fallback a");
            if (!link || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
                return;
            }
            const details = sectionNamed(new URL(link.href).hash);
            if (details) {
                event.preventDefault();
                history.replaceState(null, "", "#" + details.id);
                openSection(details, true);
            }
        });
        window.addEventListener("hashchange", () => {
            const details = sectionNamed(location.hash);
            if (details) {
                openSection(details, false);
            }
        });
        const named = sectionNamed(location.hash);
        if (named) {
            openSection(named, false);
        }
    }

    // After the admin's own scripts ran over the page (they start on "load"), so a body put in by
    // this script is prepared once, here.
    if (document.readyState === "complete") {
        start();
    } else {
        window.addEventListener("load", start);
    }
}
