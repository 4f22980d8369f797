"""Checklist versions in the administration: drafts are edited here (the five blocks as lines of
text, the details to tick, and the other parts as JSON) and published through the service by
staff with the permission; a published version is shown read-only. Every change is kept in the
admin's change log (Administration > Log entries)."""

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from risk import checklist, checklist_rules, checklist_versions, services
from risk.models import Assessment, ChecklistVersion
from risk.version_admin import PublishedVersionAdmin

ITEMS_HELP = (
    "One item a line, written as <code>key | label | question</code>, for example "
    "<code>c02 | Very frightened | Are you very frightened?</code> Blank lines are ignored. "
    "The key is what answers are stored under: lower-case letters, digits or _, each used once in "
    "the whole checklist. Keep the key when you only reword an item; give a new key when the item "
    "asks about something else. The core block is what the score counts: keep at least as many core "
    "items as the score that makes the risk high, and the items the triggers and prompts name (by "
    "default " + " and ".join(key for keys in checklist_rules.DEFAULT_TRIGGERS.values() for key in keys) + ", "
    "a yes to which opens the stalking and honour-based abuse questions). "
    "Saving checks all of this. Advisors see nothing of a draft until it is published."
)


def item_lines(items: list[dict[str, str]]) -> str:
    return "\n".join(f"{i['key']} | {i['label']} | {i['question']}" for i in items)


def parse_item_lines(text: str) -> tuple[list[dict[str, str]], list[str]]:
    """The items written one a line as `key | label | question` (the question may hold a |)."""
    items, errors = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|", 2)]
        if len(parts) != 3:
            errors.append(f"Line {number}: write key | label | question (two | between the three parts).")
            continue
        items.append({"key": parts[0], "label": parts[1], "question": parts[2]})
    return items, errors


def _block_field(name: str) -> forms.CharField:
    rows = 26 if name == "core" else 8
    return forms.CharField(
        label=checklist.BLOCK_TITLES[name],
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": rows, "style": "width: 100%; font-family: monospace"}),
    )


def tick_lines(definition: dict[str, Any]) -> str:
    """The ticks of every item, one a line: `item key | tick key | label`."""
    return "\n".join(
        f"{item['key']} | {tick['key']} | {tick['label']}"
        for name in checklist.BLOCKS
        for item in definition.get(name, [])
        if isinstance(item, dict)
        for tick in item.get("ticks", [])
    )


def parse_tick_lines(text: str) -> tuple[dict[str, list[dict[str, str]]], list[str]]:
    """The ticks written one a line as `item key | tick key | label`, by item key, in order."""
    ticks: dict[str, list[dict[str, str]]] = {}
    errors = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = [part.strip() for part in line.split("|", 2)]
        if len(parts) != 3:
            errors.append(f"Line {number}: write item key | tick key | label (two | between the three parts).")
            continue
        ticks.setdefault(parts[0], []).append({"key": parts[1], "label": parts[2]})
    return ticks, errors


def _tick_labels(item: dict[str, Any]) -> str:
    ticks = item.get("ticks")
    if not isinstance(ticks, list):
        return ""
    return ", ".join(f"{t.get('label')} ({t.get('key')})" for t in ticks if isinstance(t, dict))


def parts_text(definition: dict[str, Any]) -> str:
    stated = {part: definition[part] for part in checklist_rules.PARTS if part in definition}
    return json.dumps(stated, indent=2, ensure_ascii=False) if stated else ""


def _text_field(label: str, rows: int, help_text: str = "") -> forms.CharField:
    return forms.CharField(
        label=label,
        required=False,
        strip=False,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": rows, "style": "width: 100%; font-family: monospace"}),
    )


class ChecklistVersionForm(forms.ModelForm):
    before_you_ask = _block_field("before_you_ask")
    core = _block_field("core")
    children = _block_field("children")
    stalking = _block_field("stalking")
    honour = _block_field("honour")
    ticks = _text_field("Details to tick", 12, "One a line: item key | tick key | label, shown when the item is yes.")
    parts = _text_field(
        "Audience, bands, triggers, prompts and the professional's section",
        20,
        "JSON; leave a part out for the defaults (adults 16 and over with MARAC; bands from the settings; "
        "stalking on c08, honour on c04; the four prompts; no professional's section).",
    )

    class Meta:
        model = ChecklistVersion
        fields = ["version", "notes"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        source = self.instance.definition if self.instance.pk else checklist.current().definition()
        for name in checklist.BLOCKS:
            self.initial.setdefault(name, item_lines(source.get(name, [])))
        self.initial.setdefault("ticks", tick_lines(source))
        self.initial.setdefault("parts", parts_text(source))

    def _parts(self, text: str) -> dict[str, Any]:
        if not text.strip():
            return {}
        try:
            parts = json.loads(text)
        except ValueError as exc:
            self.add_error("parts", f"Not JSON: {exc}.")
            return {}
        if not isinstance(parts, dict) or not set(parts) <= set(checklist_rules.PARTS):
            self.add_error("parts", "An object with some of " + ", ".join(checklist_rules.PARTS) + ".")
            return {}
        return parts

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        definition: dict[str, Any] = self._parts(cleaned.get("parts") or "")
        malformed = "parts" in self.errors
        ticks, errors = parse_tick_lines(cleaned.get("ticks") or "")
        for error in errors:
            self.add_error("ticks", error)
        malformed = malformed or bool(errors)
        for name in checklist.BLOCKS:
            items, errors = parse_item_lines(cleaned.get(name) or "")
            for error in errors:
                self.add_error(name, error)
            malformed = malformed or bool(errors)
            definition[name] = [
                {**item, "ticks": ticks.pop(item["key"])} if item["key"] in ticks else item for item in items
            ]
        for key in ticks:
            self.add_error("ticks", f"There is no item {key!r} to tick details of.")
        if not malformed:
            for block, message in checklist.validate(definition):
                self.add_error(block if block in checklist.BLOCKS else "parts", message)
        label = cleaned.get("version") or ""
        problem = checklist.validate_version_label(label) if label else None
        if problem:
            self.add_error("version", problem)
        elif label and Assessment.objects.filter(version=label).exists():
            self.add_error("version", f"Assessments were answered against a version called {label}: choose another.")
        self.instance.definition = definition
        self.instance.audience = checklist_versions.audience_of(definition)
        return cleaned


@admin.register(ChecklistVersion)
class ChecklistVersionAdmin(PublishedVersionAdmin):
    """A published version is read-only here (assessments were answered against it); a version
    with assessments is never deleted. Publishing needs the publish permission."""

    form = ChecklistVersionForm
    list_display = [
        "version",
        "audience",
        "state",
        "is_current",
        "core_items",
        "published_at",
        "published_by",
        "created_at",
    ]
    list_filter = ["audience", "state", "is_current"]
    search_fields = ["version", "notes"]
    actions = ["copy_as_draft", "publish"]
    record = ["state", "is_current", "based_on", "created_by", "created_at", "published_by", "published_at"]
    publish_permission = checklist_versions.PUBLISH_PERMISSION
    draft_copy = checklist_versions.checklist_version_draft_copy
    draft_next_step = "edit its items, then publish it"

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and Assessment.objects.filter(version=obj.version).exists():
            return False
        return super().has_delete_permission(request, obj)

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is not None and not self.has_change_permission(request, obj):
            return [(None, {"fields": ["version", "notes", "items"]}), ("Record", {"fields": self.record})]
        fieldsets: list[Any] = [
            (None, {"fields": ["version", "notes"]}),
            ("Items", {"fields": list(checklist.BLOCKS), "description": mark_safe(ITEMS_HELP)}),  # noqa: S308
            ("Details and settings", {"fields": ["ticks", "parts"]}),
        ]
        if obj is not None:
            fieldsets.append(("Record", {"fields": self.record}))
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return [*self.record, "items"]

    def save_model(self, request: HttpRequest, obj: ChecklistVersion, form: Any, change: bool) -> None:
        if not change:
            obj.created_by_id = request.user.pk
            obj.based_on = ChecklistVersion.objects.filter(is_current=True, audience=obj.audience).first()
        super().save_model(request, obj, form, change)

    def render_change_form(
        self,
        request: HttpRequest,
        context: dict[str, Any],
        add: bool = False,
        change: bool = False,
        form_url: str = "",
        obj: Any = None,
    ) -> HttpResponse:
        editable = obj is None or self.has_change_permission(request, obj)
        context["can_publish"] = editable and self.has_publish_permission(request)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def response_add(self, request: HttpRequest, obj: ChecklistVersion, post_url_continue: str | None = None) -> Any:
        if "_publish" in request.POST:
            return self._publish_saved(request, obj)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request: HttpRequest, obj: ChecklistVersion) -> Any:
        if "_publish" in request.POST:
            return self._publish_saved(request, obj)
        return super().response_change(request, obj)

    def _publish_saved(self, request: HttpRequest, obj: ChecklistVersion) -> HttpResponse:
        """ "Save and publish": the draft is saved (and logged); now publish it."""
        self.publish(request, ChecklistVersion.objects.filter(pk=obj.pk))
        return redirect(reverse("admin:risk_checklistversion_change", args=[obj.pk]))

    @admin.display(description="Core items")
    def core_items(self, obj: ChecklistVersion) -> int:
        return len(obj.definition.get("core", []))

    @admin.display(description="Items")
    def items(self, obj: ChecklistVersion) -> str:
        """The blocks as tables (with each item's details to tick), then the other parts as stored;
        read from the stored form as it is, so a draft that does not validate shows too."""
        tables = [
            format_html(
                "<h3>{} ({})</h3><table><thead><tr><th>Key</th><th>Label</th><th>Question</th>"
                "<th>Details to tick</th></tr></thead><tbody>{}</tbody></table>",
                checklist.BLOCK_TITLES[name],
                len(obj.definition.get(name, [])),
                format_html_join(
                    "",
                    "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    (
                        (i.get("key"), i.get("label"), i.get("question"), _tick_labels(i))
                        for i in obj.definition.get(name, [])
                        if isinstance(i, dict)
                    ),
                ),
            )
            for name in checklist.BLOCKS
        ]
        parts = parts_text(obj.definition)
        tables.append(
            format_html(
                "<h3>Audience, bands, triggers, prompts and the professional's section</h3>{}",
                format_html("<pre>{}</pre>", parts)
                if parts
                else "None stated: adults 16 and over with MARAC, the settings' bands, stalking on c08 and "
                "honour on c04, the four default prompts, no professional's section.",
            )
        )
        return format_html_join("", "{}", ((table,) for table in tables))

    @admin.action(description="Publish and make current", permissions=["publish"])
    def publish(self, request: HttpRequest, queryset: QuerySet[ChecklistVersion]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Choose one version to publish.", messages.ERROR)
            return
        version = queryset.get()
        try:
            version = checklist_versions.checklist_version_publish(version_id=version.pk, actor=request.user)
        except checklist_versions.ChecklistInvalid as exc:
            self.message_user(
                request,
                format_html(
                    "{} cannot be published:<ul>{}</ul>",
                    version.version,
                    format_html_join("", "<li>{}</li>", ((p,) for p in exc.problems)),
                ),
                messages.ERROR,
            )
        except services.RiskError as exc:
            self.message_user(request, exc.message, messages.ERROR)
        else:
            self.message_user(
                request,
                f"Checklist {version.version} is published and current for {version.audience}: new assessments "
                "for that audience use it; earlier assessments keep the version they were answered against.",
                messages.SUCCESS,
            )
