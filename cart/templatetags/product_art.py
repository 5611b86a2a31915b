"""A product's generated picture: its colour, two shapes of its own and its initials, all from its slug."""

import colorsys
import functools
import hashlib
from dataclasses import dataclass

from django import template

register = template.Library()

# WCAG 2.x AA for normal text: the initials on a product's picture stay readable.
ART_MIN_CONTRAST = 4.5


def _relative_luminance(rgb: tuple[float, float, float]) -> float:
    """WCAG 2.x relative luminance of an sRGB colour with channels in 0..1."""
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_with_white(rgb: tuple[float, float, float]) -> float:
    return 1.05 / (_relative_luminance(rgb) + 0.05)


@functools.cache
def art_colour(hue: int) -> str:
    """The lightest colour of `hue` on which white text still has AA contrast, as #rrggbb.

    Yellows and greens are light at any given HSL lightness, so a fixed
    lightness would leave some tiles unreadable; searching per hue keeps every
    tile as bright as contrast allows.
    """
    for lightness in range(50, 0, -1):
        rgb = colorsys.hls_to_rgb(hue / 360, lightness / 100, 0.6)
        rgb = tuple(round(c * 255) / 255 for c in rgb)  # what #rrggbb can say
        if contrast_with_white(rgb) >= ART_MIN_CONTRAST:
            return "#" + "".join(f"{round(c * 255):02x}" for c in rgb)
    raise AssertionError("black always contrasts with white")


@dataclass(frozen=True)
class Art:
    colour: str  # the background, AA contrast with the white initials
    shapes: list[tuple[int, int, int]]  # two circles (cx, cy, r) in the picture's 120×90 box
    initials: str


@register.simple_tag
def product_art(product) -> Art:
    """`{% product_art product as art %}`: the same picture for a product every time, derived from its slug."""
    seed = hashlib.sha256(product.slug.encode()).digest()
    return Art(
        colour=art_colour(int.from_bytes(seed[:2]) % 360),
        shapes=[(seed[2 + i] % 120, seed[4 + i] % 90, 18 + seed[6 + i] % 30) for i in (0, 1)],
        initials="".join(word[0] for word in product.name.split()[:2]).upper(),
    )
