"""Poster placeholders (SVG), the TMDB attribution, and no streamlit in the package."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from recommender import posters
from recommender.posters import TMDB_ATTRIBUTION, placeholder_data_uri, placeholder_svg


def svg_root(svg: str) -> ET.Element:
    return ET.fromstring(svg)  # raises on anything that is not well-formed XML


def test_placeholder_is_a_well_formed_2_by_3_svg_with_escaped_wrapped_title():
    title = 'Tom & Jerry: <The "Movie"> Strikes Back Against the Cat'
    root = svg_root(placeholder_svg(title, 1992, "Animation|Children"))
    ns = "{http://www.w3.org/2000/svg}"
    _, _, width, height = (float(v) for v in root.get("viewBox").split())
    assert width / height == pytest.approx(2 / 3)
    lines = [span.text for span in root.iter(f"{ns}tspan")]
    assert 2 <= len(lines) <= 5
    assert " ".join(lines) == title
    texts = "".join(root.itertext())
    assert "1992" in texts
    assert root.find(f"{ns}title").text == f"{title} (1992)"


def test_placeholder_colour_follows_the_first_genre():
    def fill(genres: str) -> str:
        return (
            svg_root(placeholder_svg("X", None, genres))
            .find("{http://www.w3.org/2000/svg}rect")
            .get("fill")
        )

    assert fill("Horror|Comedy") == fill("Horror")
    assert fill("Horror") != fill("Comedy|Horror")
    assert fill("Unheard-of genre") == fill("Unheard-of genre|Drama")
    assert fill("(no genres listed)") == fill("")


def test_placeholder_handles_long_titles_missing_year_and_control_characters():
    svg = placeholder_svg("A" * 200 + "\x00\x07", None, "")
    root = svg_root(svg)
    spans = [s.text for s in root.iter("{http://www.w3.org/2000/svg}tspan")]
    assert len(spans) == 5 and spans[-1].endswith("…")
    assert "None" not in svg


def test_placeholder_data_uri_round_trips():
    uri = placeholder_data_uri("Heat", 1995, "Action|Crime|Thriller")
    prefix = "data:image/svg+xml;base64,"
    assert uri.startswith(prefix)
    assert base64.b64decode(uri[len(prefix) :]).decode() == placeholder_svg(
        "Heat", 1995, "Action|Crime|Thriller"
    )


def test_attribution_text():
    assert TMDB_ATTRIBUTION == (
        "This product uses the TMDB API but is not endorsed or certified by TMDB."
    )


def test_recommender_package_does_not_need_streamlit():
    for module in Path(posters.__file__).parent.glob("*.py"):
        source = module.read_text()
        assert "import streamlit" not in source and "from streamlit" not in source, module
