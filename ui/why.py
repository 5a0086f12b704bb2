"""The "Why?" popover under a pick: the visitor's ratings that contributed most, as bars."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence

import streamlit as st

from recommender import Recommender
from recommender.explain import explain
from ui import resources
from ui.cards import html_block
from ui.text import model_label

REASONS = 3  # rated movies shown per pick
LIKED = 3.5  # a rating below this is a low one: said so wherever it shows as a reason
LOW_RATING_NOTE = {
    "biased-mf": "In this model a movie you rated low can raise picks unlike it.",
    "nmf": "This model learns from which movies you rated as well as from your stars.",
}
LOW_RATING_DEFAULT = ("This model learns from which movies you watched as well as from your "
                      "stars, so a movie you rated low still says something about your taste.")


def why_html(title: str, reasons: Sequence[tuple[str, float, float]]) -> str:
    """The "Why?" of one pick: (rated title, stars given, share 0-1) rows, largest first.

    Bars are scaled to the largest share (with many ratings every share is small, and tiny
    bars read as "nothing"); the percentages say the shares themselves. A low rating (below
    :data:`LIKED`) says so and gets a grey bar: it is no "reason you liked this".
    """
    top = max((share for _, _, share in reasons), default=1.0) or 1.0
    head = f'<div class="mv-why-head">Your ratings that led to <b>{html.escape(title)}</b></div>'
    rows = "".join(
        f'<div><div class="mv-why-title">{html.escape(name)} '
        f"<span>· you gave it {given:g} ★{' (a low rating)' if given < LIKED else ''}</span></div>"
        f'<div class="mv-why-bar{" low" if given < LIKED else ""}"><div>'
        f'<span style="width: {share / top:.0%}"></span></div>{share:.0%}</div></div>'
        for name, given, share in reasons
    )
    return f'<div class="mv-why">{head}{rows}</div>'


def why_popover(model: Recommender, rated: Mapping[int, float], movie_id: int) -> None:
    """A "Why?" button under a pick (key ``why-<movieId>``) that opens the explanation.

    The popover reruns the fragment when opened and computes only then (one explanation can
    take 15 ms with NMF, too much for twelve cards on every rerun).
    """
    with st.popover("Why?", key=f"why-{movie_id}", on_change="rerun", type="tertiary",
                    icon=":material/lightbulb:", width="stretch") as popover:
        if not popover.open:
            return
        found = explain(model, rated, movie_id, n=len(rated))
        if found.empty:
            st.caption("None of your ratings argues for this movie in particular: the model "
                       "ranks it high because many people like it.")
            return
        catalogue = resources.catalogue()
        total = float(found["contribution"].sum())
        reasons = [(str(catalogue.loc[m, "display_title"]), rated[m], c / total)
                   for m, c in found.head(REASONS).itertuples(index=False)]
        html_block(why_html(str(catalogue.loc[movie_id, "display_title"]), reasons))
        note = (f" {LOW_RATING_NOTE.get(model.algorithm, LOW_RATING_DEFAULT)}"
                if any(given < LIKED for _, given, _ in reasons) else "")
        st.caption(f"Percent: that rating's share of what all your ratings add to this "
                   f"pick's score in the {model_label(model.algorithm)} model.{note}")
