"""Helpers for page tests."""


def revealed_value(response):
    """The token value a copy-once reveal response shows in its read-only Token field."""
    html = response.content.decode()
    marker = 'id="token-value" class="mono" value="'
    start = html.index(marker) + len(marker)
    return html[start : html.index('"', start)]
