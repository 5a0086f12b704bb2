"""Poster-shaped SVG placeholders, for movies without a poster or when TMDB is not set up."""

from __future__ import annotations

import base64
import functools
import re
import textwrap
import zlib
from xml.sax.saxutils import escape

from recommender.posters.ids import positive_int

# Dark enough for white text; one colour per MovieLens genre.
_GENRE_COLOURS = {
    "Action": "#8c2f23",
    "Adventure": "#8a5a12",
    "Animation": "#1d6a86",
    "Children": "#2f7a3b",
    "Comedy": "#9a6b00",
    "Crime": "#3b3f4a",
    "Documentary": "#4b6b5c",
    "Drama": "#5a3470",
    "Fantasy": "#6b3fa0",
    "Film-Noir": "#262626",
    "Horror": "#5c0f14",
    "IMAX": "#0f4c75",
    "Musical": "#a0356b",
    "Mystery": "#2d3a6b",
    "Romance": "#a23b55",
    "Sci-Fi": "#145a63",
    "Thriller": "#4a2c2a",
    "War": "#55593a",
    "Western": "#7a4b2a",
}
_NEUTRAL = "#44474f"
_XML_INVALID = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_PLACEHOLDER_W, _PLACEHOLDER_H = 200, 300  # 2:3, like a poster
_TITLE_WIDTH, _TITLE_LINES = 16, 5


def _genre_colour(genres: str) -> str:
    first = (genres or "").split("|")[0].strip()
    if not first or first.startswith("("):  # "(no genres listed)"
        return _NEUTRAL
    if first in _GENRE_COLOURS:
        return _GENRE_COLOURS[first]
    hue = zlib.crc32(first.encode()) % 360  # stable across runs, unlike hash()
    return f"hsl({hue}, 45%, 30%)"


def _xml(text: str) -> str:
    return escape(_XML_INVALID.sub("", text), {'"': "&quot;", "'": "&apos;"})


def placeholder_svg(title: str, year: int | None, genres: str) -> str:
    """A 2:3 SVG poster with the title (wrapped), the year and a colour from the first genre."""
    title = " ".join(_XML_INVALID.sub("", str(title or "")).split()) or "Untitled"
    lines = textwrap.wrap(title, _TITLE_WIDTH, break_long_words=True) or [title]
    if len(lines) > _TITLE_LINES:
        lines = lines[:_TITLE_LINES]
        lines[-1] = lines[-1][: _TITLE_WIDTH - 1].rstrip() + "…"
    year_number = positive_int(year)
    year_text = str(year_number) if year_number is not None else ""
    genre_text = " · ".join(g for g in (genres or "").split("|")[:3] if g and g[0] != "(")
    font = 20 if len(lines) <= 3 else 16
    line_height = font * 1.2
    top = _PLACEHOLDER_H * 0.42 - (len(lines) - 1) * line_height / 2
    spans = "".join(
        f'<tspan x="{_PLACEHOLDER_W // 2}" y="{top + n * line_height:.1f}">{_xml(line)}</tspan>'
        for n, line in enumerate(lines)
    )
    label = f"{title} ({year_text})" if year_text else title
    year_y = top + len(lines) * line_height + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_PLACEHOLDER_W}" '
        f'height="{_PLACEHOLDER_H}" viewBox="0 0 {_PLACEHOLDER_W} {_PLACEHOLDER_H}" '
        f'role="img" aria-label="{_xml(label)}">',
        f"<title>{_xml(label)}</title>",
        f'<rect width="100%" height="100%" fill="{_genre_colour(genres)}"/>',
        f'<rect y="{_PLACEHOLDER_H * 0.8:.0f}" width="100%" height="{_PLACEHOLDER_H * 0.2:.0f}" '
        'fill="#000" fill-opacity="0.25"/>',
        '<g font-family="Helvetica, Arial, sans-serif" fill="#fff" text-anchor="middle">',
        f'<text font-size="{font}" font-weight="bold">{spans}</text>',
    ]
    if year_text:
        parts.append(
            f'<text x="{_PLACEHOLDER_W // 2}" y="{year_y:.1f}" font-size="15" '
            f'fill-opacity="0.85">{year_text}</text>'
        )
    if genre_text:
        parts.append(
            f'<text x="{_PLACEHOLDER_W // 2}" y="{_PLACEHOLDER_H * 0.9 + 4:.0f}" '
            f'font-size="11" fill-opacity="0.8">{_xml(genre_text)}</text>'
        )
    parts.append("</g></svg>")
    return "".join(parts)


@functools.lru_cache(maxsize=4096)  # the same cards are drawn on every rerun
def placeholder_data_uri(title: str, year: int | None, genres: str) -> str:
    """:func:`placeholder_svg` as a ``data:image/svg+xml;base64,...`` URI for an ``<img>``."""
    svg = placeholder_svg(title, year, genres)
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode("utf-8")).decode("ascii")
