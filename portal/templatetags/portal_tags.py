import re
from datetime import UTC

from django import template
from django.utils import timezone
from django.utils.html import conditional_escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.timesince import timesince

register = template.Library()

BACKTICKED = re.compile(r"`([^`]+)`")


@register.simple_tag
def timestamp(value, never="Never", exact=False):
    """A relative time with the exact UTC timestamp on hover and for machines; exact=True also
    shows the exact time, on a second line, where hovering is no help (phones, audits)."""
    if value is None:
        return format_html('<span class="muted">{}</span>', never)
    exact_text = value.strftime("%Y-%m-%d %H:%M:%S UTC")
    relative = format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        exact_text,
        relative_time(value),
    )
    if not exact:
        return relative
    return format_html('{}<span class="hint exact-time">{}</span>', relative, exact_text)


@register.simple_tag
def exact_timestamp(value, never="Never"):
    """The exact UTC date and minute, with the relative time on hover: for a column whose
    header is also a status name ("Generated"), so that its cells read as a moment."""
    if value is None:
        return format_html('<span class="muted">{}</span>', never)
    return format_html(
        '<time datetime="{}" title="{}">{}</time>',
        value.isoformat(),
        relative_time(value),
        value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


@register.simple_tag
def date_and_days(value, never="Never"):
    """A date with how many days away it is, "6 March 2027 (in 90 days)", with the exact UTC
    time on hover: for an expiry, which relative_time rounds too coarsely ("in 2 months" for
    90 days). Within half a day, the relative time instead of days ("in 5 hours")."""
    if value is None:
        return format_html('<span class="muted">{}</span>', never)
    now = timezone.now()
    days = round((value - now).total_seconds() / 86400)
    if days == 0:
        distance = relative_time(value, now)
    else:
        count = f"{abs(days)} day{'s' if abs(days) != 1 else ''}"
        distance = f"in {count}" if days > 0 else f"{count} ago"
    day = value.astimezone(UTC)
    return format_html(
        '<time datetime="{}" title="{}">{}</time> ({})',
        value.isoformat(),
        day.strftime("%Y-%m-%d %H:%M:%S UTC"),
        f"{day.day} {day:%B %Y}",
        distance,
    )


def relative_time(value, now=None):
    """'3 days ago' or 'in 2 hours': one unit only, so table cells stay one line."""
    now = now or timezone.now()
    if abs((now - value).total_seconds()) < 60:
        return "just now"
    if value <= now:
        return f"{timesince(value, now, depth=1)} ago"
    return f"in {timesince(now, value, depth=1)}"


@register.filter
def email_breaks(value):
    """An e-mail address that may wrap after its @ only, never mid-word: local@<wbr>domain."""
    if not value:
        return value
    local, at, domain = str(value).rpartition("@")
    if not at:
        return value
    return format_html("{}@<wbr>{}", local, domain)


@register.filter
def host_breaks(value):
    """A host name that may wrap after its dots only: splunk.<wbr>contoso.<wbr>example."""
    labels = str(value or "").split(".")
    return format_html_join(mark_safe(".<wbr>"), "{}", ((label,) for label in labels))  # noqa: S308


@register.filter
def name_breaks(value):
    """A name made of hyphenated words (a service account's, ci-deploy) that may wrap after
    its hyphens only: ci-<wbr>deploy. Each word stays whole unless it alone is too wide."""
    parts = str(value or "").split("-")
    return format_html_join(mark_safe("-<wbr>"), "{}", ((part,) for part in parts))  # noqa: S308


@register.filter
def url_breaks(value):
    """A URL that may wrap after its dots and single slashes only, so that a narrow screen
    breaks it between names, never inside a name or a port number."""
    parts = re.split(r"(?<=\.)|(?<=[^/]/)(?!/)|(?<=//)", str(value or ""))
    return format_html_join(mark_safe("<wbr>"), "{}", ((part,) for part in parts))  # noqa: S308


@register.filter
def duration(seconds):
    """A number of seconds in its largest unit ("45 s", "3 min", "2 h", "5 days"), rounded
    down: short enough for a table cell."""
    seconds = int(seconds)
    for unit, size in (("day", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'s' if unit == 'day' and count != 1 else ''}"
    return f"{seconds} s"


@register.filter
def inline_code(text):
    """Text whose `backticked` parts (the OpenAPI document's Markdown) are each a <code>."""
    parts = BACKTICKED.split(str(text))  # text, code, text, code, …, text
    html = [_code(part) if i % 2 else conditional_escape(part) for i, part in enumerate(parts)]
    return mark_safe("".join(html))  # noqa: S308 -- every part is escaped


def _code(value):
    # A value without a space (a sort value such as -name) is kept on one line rather than
    # broken at its hyphen: a hyphen that looks like a line break misleads, and CSS keeps the
    # text as typed for whoever copies it.
    if any(character.isspace() for character in value):
        return format_html("<code>{}</code>", value)
    return format_html('<code class="literal">{}</code>', value)
