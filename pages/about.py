"""About: the data (licence, citation, figures) and how the models compare."""

from __future__ import annotations

import altair as alt
import streamlit as st

import ui
from recommender import ALGORITHMS, DEFAULT_ALGORITHM, DataError
from ui import evaluation, movie_night, resources
from ui.text import CITATION, LICENCE, model_label, model_note


def dataset_section() -> None:
    st.header("The data", anchor=False)
    try:
        figures = resources.figures()
    except DataError as error:
        resources.show_data_error(error)
        return
    cols = st.columns(4)
    cols[0].metric("Users", f"{figures['users']:,}", border=True)
    cols[1].metric("Movies", f"{figures['movies']:,}", border=True,
                   help=f"{figures['rated_movies']:,} of them have at least one rating")
    cols[2].metric("Ratings", f"{figures['ratings']:,}", border=True,
                   help=f"{figures['first']}–{figures['last']}, mean {figures['mean']:.2f} stars")
    cols[3].metric("Tags", f"{figures['tags']:,}", border=True)
    left, right = st.columns(2, gap="large")
    with left:
        st.markdown("**How people rate** (half stars, 0.5 to 5)")
        chart = alt.Chart(figures["histogram"]).mark_bar(color="#d6336c").encode(
            x=alt.X("stars:O", title="Stars", axis=alt.Axis(labelAngle=0)),
            y=alt.Y("ratings:Q", title="Ratings"),
            tooltip=[alt.Tooltip("stars:Q"), alt.Tooltip("ratings:Q", format=",")],
        )
        st.altair_chart(chart, height=260)
    with right:
        st.markdown("**The long tail**: ratings per movie")
        tail = figures["long_tail"].query("ratings > 0")
        chart = alt.Chart(tail).mark_area(color="#d6336c", opacity=0.6).encode(
            x=alt.X("rank:Q", title="Movies, most-rated first", scale=alt.Scale(nice=False)),
            y=alt.Y("ratings:Q", title="Ratings (log scale)",
                    scale=alt.Scale(type="log", domainMin=0.7),
                    axis=alt.Axis(values=[1, 3, 10, 30, 100, 300])),
            y2=alt.datum(0.7),  # the floor: a log scale has no zero, and 1 must show
            tooltip=[alt.Tooltip("rank:Q"), alt.Tooltip("ratings:Q")],
        )
        st.altair_chart(chart, height=260)
    st.caption(f"The 10% most-rated movies hold {figures['top_share']:.0%} of all ratings; "
               "most movies have only a handful, which is why popular movies are easy to "
               "recommend and rare ones are hard.")


def models_section() -> None:
    """The evaluation as a story: what was measured, who wins, by how much, what it means."""
    st.header("How the models compare", anchor=False)
    report, _, problem = resources.evaluation()
    if problem:
        st.warning(f"The evaluation report is incomplete: {problem}", icon=":material/warning:")
    top = evaluation.headline(report) if report else None
    if top is None:
        if not problem:
            st.info("The models have not been compared yet.", icon=":material/science:")
    else:
        users = report.get("n_users")
        st.markdown(
            f"**What was measured.** Each model got the first ten ratings of "
            f"{f'{users:,}' if isinstance(users, int) else 'hundreds of'} MovieLens users it "
            "had never seen, as a "
            "new visitor here gives them, and we checked whether the movies those people went "
            "on to rate 4 ★ or more came out at the top of its ten picks."
        )
        cols = st.columns(3)
        cols[0].metric("Best model for a new visitor", top.winner, border=True)
        cols[1].metric("Liked movies it finds in 10 picks", f"{top.winner_hits:.0%}",
                       f"{(top.winner_hits - top.baseline_hits) * 100:+.0f} points vs. popular "
                       "movies", border=True,
                       help="Recall@10: of the movies a person went on to rate 4 ★ or more (up "
                       "to ten of them), the share that were among the ten picks.")
        cols[2].metric("Better ranking than popular movies", f"{top.lift:+.0%}",
                       f"{top.runner_up_gap:+.0%} vs. {top.runner_up}", border=True,
                       delta_color="off")
        if drawn := evaluation.chart(report):
            st.altair_chart(drawn, height=230)
        st.markdown(
            f"**What it means for you.** Rate ten movies on Your picks and the ten "
            f"{top.winner.removesuffix(' (default)')} picks find about {top.winner_hits:.0%} "
            "of the movies you would rate 4 ★ or more, against "
            f"{top.baseline_hits:.0%} for the list of popular movies everyone gets. It is the "
            "model Your picks starts with; more ratings make every model better."
        )
    if report:
        with st.expander("Every figure, and how it was measured", icon=":material/table:"):
            st.dataframe(evaluation.table(report), hide_index=True, column_config={
                title: st.column_config.NumberColumn(format="%.3f")
                for title in evaluation.COLUMNS.values() if "@" in title
            })
            st.caption(
                f"{report.get('dataset', 'MovieLens')}, {report.get('folds', '?')}-fold "
                f"cross-validation over users, {report.get('date', '')}. New visitor: a "
                "user's first ten ratings, including low ones; long-time users: 80% of their "
                "favourites, the other 20% to find. NDCG rewards finding them near the top; "
                "recall counts how many are found. Catalogue coverage: the share of movies "
                "that appear in anyone's picks. Reproduce with "
                f"`{report.get('command', 'python -m recommender evaluate')}`."
            )
    st.markdown("**The models in this app**")
    for algorithm in ALGORITHMS:
        default = " (default)" if algorithm == DEFAULT_ALGORITHM else ""
        st.markdown(f"- **{model_label(algorithm)}**{default}: {model_note(algorithm)}")
    movie_night.evaluation_section()


ui.require_app()
st.title("About", anchor=False)
st.markdown(
    "This app recommends movies from what you tell it. **Discover** finds a movie and the "
    "movies most like it; **Your picks** turns a few of your ratings into personal "
    "recommendations, with a choice of models to compare. Your ratings stay in your browser "
    "tab unless you save them under a private link; the shared models never learn from them."
)
models_section()
dataset_section()
st.header("Licence and citation", anchor=False)
st.markdown(LICENCE)
st.code(CITATION, language=None, wrap_lines=True)
if attribution := resources.poster_attribution():
    st.caption(attribution)
