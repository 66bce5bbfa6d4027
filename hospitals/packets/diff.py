"""What changed between two packet versions, in sentences a centre can read."""

from __future__ import annotations

SECTION_LABELS = {
    "patient": "Patient",
    "case": "Case",
    "clinical": "Clinical profile",
    "summary": "Summary",
    "eligibility": "Eligibility pre-screen",
    "cover_note": "Cover note",
    "centre": "Centre",
}


def _flatten(value, prefix=""):
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: value}


def packet_changes(old: dict | None, new: dict) -> list[dict]:
    """A list of {"section", "field", "change", "before", "after"} between two packet contents."""
    if old is None:
        return []
    changes: list[dict] = []
    for section in SECTION_LABELS:
        before = _flatten(old.get(section))
        after = _flatten(new.get(section))
        for key in sorted(set(before) | set(after)):
            if before.get(key) != after.get(key):
                if key in ("age_years",):
                    continue
                changes.append(
                    {
                        "section": section,
                        "field": key,
                        "change": "added" if key not in before else "removed" if key not in after else "changed",
                        "before": before.get(key),
                        "after": after.get(key),
                    }
                )
    old_docs = {d["id"]: d for d in _all_documents(old)}
    new_docs = {d["id"]: d for d in _all_documents(new)}
    for doc_id in sorted(set(old_docs) | set(new_docs)):
        o, n = old_docs.get(doc_id), new_docs.get(doc_id)
        if o is None:
            changes.append(
                {"section": "documents", "field": str(doc_id), "change": "added", "before": None, "after": _label(n)}
            )
        elif n is None:
            changes.append(
                {"section": "documents", "field": str(doc_id), "change": "removed", "before": _label(o), "after": None}
            )
        elif o["sha256"] != n["sha256"] or o.get("review_status") != n.get("review_status"):
            changes.append(
                {
                    "section": "documents",
                    "field": str(doc_id),
                    "change": "changed",
                    "before": _label(o),
                    "after": _label(n),
                }
            )
    return changes


def _all_documents(content: dict):
    for doc in content.get("documents", []):
        yield doc
        yield from doc.get("translations", [])


def _label(doc: dict) -> str:
    date = f", {doc['clinical_date']}" if doc.get("clinical_date") else ""
    lang = f" [{doc['language']}]" if doc.get("language") else ""
    return f"{doc['doc_type_label']}: {doc['original_name']}{date}{lang}"


def describe(change: dict) -> str:
    section = SECTION_LABELS.get(change["section"], change["section"].capitalize())
    if change["section"] == "documents":
        if change["change"] == "added":
            return f"Document added: {change['after']}"
        if change["change"] == "removed":
            return f"Document removed: {change['before']}"
        return f"Document replaced: {change['after']}"
    return f"{section} › {change['field']}: {change['before']!s} → {change['after']!s}"
