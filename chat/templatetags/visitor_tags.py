"""Template filters for the visitor's pages."""

import re

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.filter
def tel_link(number: object) -> SafeString:
    """A phone number as a tap-to-call link, kept left to right inside right-to-left text (so
    "0808 2000 247" never reads "247 2000 0808")."""
    text = str(number)
    digits = re.sub(r"[^+\d]", "", text)
    if not digits:
        return format_html('<bdi dir="ltr">{}</bdi>', text)
    return format_html('<a href="tel:{}" dir="ltr" class="tel">{}</a>', digits, text)
