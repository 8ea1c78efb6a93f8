"""Reading a vendor's JSON through its field mapping, one line at a time.

A line that cannot be read (not an object, no SKU, a level that is not an integer, an asOf
that is not a timestamp) is rejected with a message naming it; the others are kept. Rules on
the values themselves (negative, unknown SKU) are the domain's (`domain.source`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from domain.source import FeedPage, FieldMapping, ReportedLevel, SourceUnavailableError

MAX_SKU = 200


def items_of(body: Any, mapping: FieldMapping) -> list[Any]:
    """The list of lines at `mapping.items_path`; a body without one is unreadable as a whole."""
    found = body
    for part in filter(None, mapping.items_path.split(".")):
        if not isinstance(found, dict) or part not in found:
            raise SourceUnavailableError(f"bad response: no {mapping.items_path!r} list")
        found = found[part]
    if not isinstance(found, list):
        raise SourceUnavailableError(f"bad response: {mapping.items_path or 'body'} is not a list")
    return found


def read_lines(
    items: list[Any], mapping: FieldMapping, fetched_at: datetime, max_lines: int
) -> FeedPage:
    lines: list[ReportedLevel] = []
    rejected: list[str] = []
    for n, item in enumerate(items[:max_lines], start=1):
        line = read_line(item, mapping)
        if isinstance(line, str):
            rejected.append(f"line {n}: {line}")
        else:
            lines.append(line)
    if len(items) > max_lines:
        rejected.append(f"{len(items) - max_lines} lines beyond the limit of {max_lines} "
                        "lines per response were ignored")
    return FeedPage(lines, rejected, fetched_at)


def read_line(item: Any, mapping: FieldMapping) -> ReportedLevel | str:
    """The line, or why it cannot be read."""
    if not isinstance(item, dict):
        return f"not an object: {_short(item)}"
    sku = item.get(mapping.sku_field)
    if isinstance(sku, int) and not isinstance(sku, bool):
        sku = str(sku)
    if not isinstance(sku, str) or not sku.strip() or len(sku) > MAX_SKU:
        return f"{mapping.sku_field} is not a SKU: {_short(sku)}"
    level = item.get(mapping.level_field)
    if isinstance(level, bool) or not isinstance(level, int):
        return f"{sku!r}: {mapping.level_field} is not an integer: {_short(level)}"
    as_of = None
    if mapping.as_of_field is not None and item.get(mapping.as_of_field) is not None:
        as_of = _timestamp(item[mapping.as_of_field])
        if as_of is None:
            return (f"{sku!r}: {mapping.as_of_field} is not a timestamp with a UTC offset: "
                    f"{_short(item[mapping.as_of_field])}")
    return ReportedLevel(sku, level, as_of)


def next_cursor(body: Any, mapping: FieldMapping) -> str | None:
    found = body.get(mapping.cursor_field) if isinstance(body, dict) else None
    if found is None or isinstance(found, bool) or not isinstance(found, (str, int)):
        return None
    return str(found) or None


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.utcoffset() is not None else None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
