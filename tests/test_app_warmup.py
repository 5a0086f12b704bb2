"""No visitor waits for a model (issue 13 part 2): the app warms every model up in the
background and serves the default model while the chosen one is still warming.

Needs MOVIELENS_DIR (ml-latest-small), like tests/test_app.py.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from recommender import ALGORITHMS, DEFAULT_ALGORITHM
from ui.text import model_label

APP = str(Path(__file__).resolve().parent.parent / "app.py")
SHAWSHANK, STAR_WARS, FELLOWSHIP = 318, 260, 4993


@pytest.fixture
def slow_nmf(movielens_dir, monkeypatch):
    """A fresh warm-up whose NMF model is not ready until the test releases it."""
    import ui.resources

    release = threading.Event()
    real = ui.resources.load_or_train

    def slow(ratings, algorithm, **kwargs):
        if algorithm == "nmf":
            release.wait(300)
        return real(ratings, algorithm, **kwargs)

    monkeypatch.setattr(ui.resources, "load_or_train", slow)
    ui.resources._warm_up.clear()
    yield release
    release.set()
    ui.resources._warm_up.clear()


def texts(elements) -> str:
    return "\n".join(str(e.value) for e in elements)


def test_a_warming_model_is_marked_and_the_default_serves_meanwhile(slow_nmf):
    import ui.resources

    app = AppTest.from_file(APP, default_timeout=120)
    app.run()
    app.switch_page("pages/picks.py").run()
    for movie_id in (SHAWSHANK, STAR_WARS, FELLOWSHIP):
        app.selectbox(key=f"rate-starter-{movie_id}").set_value(5.0).run()
    switch = app.segmented_control(key="picks-model")
    assert "NMF (warming up…)" in switch.options
    assert model_label(DEFAULT_ALGORITHM) in switch.options  # trained first, so ready

    switch.set_value("nmf").run()
    assert not app.exception and not app.error
    assert app.session_state["algorithm"] == "nmf"  # the choice is kept ...
    assert "NMF model is still warming up" in texts(app.info)  # ... and said to be pending
    default_caption = f"{model_label(DEFAULT_ALGORITHM)} picks from your 3 ratings"
    assert default_caption in texts(app.caption)

    slow_nmf.set()
    warmer = ui.resources.warm_up()
    assert warmer.wait("nmf", timeout=300) is not None
    app.run()
    assert "still warming up" not in texts(app.info)
    assert "NMF picks from your 3 ratings" in texts(app.caption)
    assert app.segmented_control(key="picks-model").options == [
        model_label(name) for name in ALGORITHMS
    ]
    assert set(warmer.ready_s) == set(ALGORITHMS)
    assert warmer.ready_s[DEFAULT_ALGORITHM] == min(warmer.ready_s.values())
