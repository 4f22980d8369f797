"""Renders the reference part of docs/protocol.md from the schemas in chat.protocol, so the
document cannot drift from the code (tests/test_protocol_doc.py compares them)."""

from pathlib import Path
from typing import Any

from django.conf import settings

from chat.protocol.codes import CLOSE_CODES, ERROR_CODES
from chat.protocol.common import PROTOCOL_VERSION, Schema
from chat.protocol.outbound import STAFF_OUTBOUND, VISITOR_OUTBOUND
from chat.protocol.staff import STAFF_INBOUND
from chat.protocol.visitor import VISITOR_INBOUND

BEGIN = "<!-- BEGIN GENERATED REFERENCE: `python manage.py protocol_doc` rewrites this part -->"
END = "<!-- END GENERATED REFERENCE -->"


def doc_path() -> Path:
    return Path(settings.BASE_DIR) / "docs" / "protocol.md"


def _type(prop: dict[str, Any]) -> str:
    if "const" in prop:
        return f'`"{prop["const"]}"`'
    if "enum" in prop:
        return " \\| ".join(f'`"{v}"`' for v in prop["enum"])
    if "anyOf" in prop:
        return " or ".join(_type(p) for p in prop["anyOf"])
    if "$ref" in prop:
        return f"`{prop['$ref'].rsplit('/', 1)[-1]}`"
    kind = prop.get("type", "any")
    if kind == "array":
        return f"list of {_type(prop.get('items', {}))}"
    if kind == "object":
        values = prop.get("additionalProperties")
        keys = prop.get("propertyNames", {})
        if isinstance(values, dict) and values:
            key = "uuid" if keys.get("format") == "uuid" else "string"
            return f"map of {key} to {_type(values)}"
        return "object"
    if kind == "null":
        return "null"
    return f"{prop['format']}" if kind == "string" and "format" in prop else kind


def _limits(prop: dict[str, Any]) -> str:
    for option in prop.get("anyOf", []):
        if option.get("type") != "null":
            prop = {**option, **{k: v for k, v in prop.items() if k != "anyOf"}}
    parts = []
    for key, label in (
        ("minLength", "min length"),
        ("maxLength", "max length"),
        ("minimum", "min"),
        ("maximum", "max"),
        ("pattern", "pattern"),
        ("maxItems", "max items"),
        ("maxProperties", "max entries"),
    ):
        if key in prop:
            parts.append(f"{label} `{prop[key]}`" if key == "pattern" else f"{label} {prop[key]}")
    return ", ".join(parts)


def _table(schema: dict[str, Any]) -> list[str]:
    required = set(schema.get("required", []))
    lines = ["| field | type | required | notes |", "| --- | --- | --- | --- |"]
    for name, prop in schema.get("properties", {}).items():
        notes = " ".join(x for x in (prop.get("description", ""), _limits(prop)) if x)
        if "default" in prop and name not in required and prop["default"] not in (None, [], {}):
            notes = f"{notes} default `{prop['default']}`".strip()
        lines.append(f"| `{name}` | {_type(prop)} | {'yes' if name in required else 'no'} | {notes} |")
    return lines


def _message(model: type[Schema]) -> list[str]:
    schema = model.model_json_schema()
    type_name = schema["properties"]["type"].get("const") or schema["properties"]["type"].get("default")
    lines = [f"#### `{type_name}`", ""]
    if model.__doc__ and model.__doc__ is not Schema.__doc__:
        lines += [" ".join(model.__doc__.split()), ""]
    lines += _table(schema)
    for name, definition in sorted(schema.get("$defs", {}).items()):
        lines += ["", f"`{name}`:", "", *_table(definition)]
    return [*lines, ""]


def render_reference() -> str:
    sections = [
        ("Visitor socket `/ws/visitor/`: client to server", VISITOR_INBOUND),
        ("Visitor socket: server to client", VISITOR_OUTBOUND),
        ("Staff socket `/ws/console/`: client to server", STAFF_INBOUND),
        ("Staff socket: server to client", STAFF_OUTBOUND),
    ]
    lines = [BEGIN, "", f"Protocol version {PROTOCOL_VERSION}.", ""]
    for title, models in sections:
        lines += [f"### {title}", ""]
        for model in models:
            lines += _message(model)
    lines += ["### Error codes", "", "| code | meaning |", "| --- | --- |"]
    lines += [f"| `{code}` | {text} |" for code, text in ERROR_CODES.items()]
    lines += ["", "### Close codes", "", "| code | meaning |", "| --- | --- |"]
    lines += [f"| {code} | {text} |" for code, text in CLOSE_CODES.items()]
    lines += ["", END]
    return "\n".join(lines) + "\n"


def generated_part(document: str) -> str:
    start = document.index(BEGIN)
    end = document.index(END) + len(END)
    return document[start:end] + "\n"


def rewrite(document: str) -> str:
    start = document.index(BEGIN)
    end = document.index(END) + len(END)
    return document[:start] + render_reference().rstrip("\n") + document[end:]
