"""About: the data (licence, citation, figures) and how the models compare."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

import ui
from recommender import ALGORITHMS, DEFAULT_ALGORITHM, DataError
from ui import movie_night, resources
from ui.text import CITATION, LICENCE, model_label, model_note

EVALUATION_COLUMNS = {  # docs/evaluation.json field -> column title
    "model": "Model",
    "sg_ndcg@100": "SG NDCG@100",
    "sg_recall@20": "SG Recall@20",
    "onb_ndcg@10": "Onb. NDCG@10",
    "onb_recall@10": "Onb. Recall@10",
    "coverage@10": "Coverage@10",
    "fit_s": "Fit (s)",
    "latency_ms": "Recommend (ms)",
}


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
    st.caption(f"The 10 % most-rated movies hold {figures['top_share']:.0%} of all ratings; "
               "most movies have only a handful, which is why popular movies are easy to "
               "recommend and rare ones are hard.")


def models_section() -> None:
    st.header("How the models compare", anchor=False)
    report, chart, problem = resources.evaluation()
    if report and isinstance(report.get("models"), list):
        table = pd.DataFrame(report["models"])
        shown = [c for c in EVALUATION_COLUMNS if c in table]
        st.dataframe(table[shown].rename(columns=EVALUATION_COLUMNS), hide_index=True,
                     column_config={c: st.column_config.NumberColumn(format="%.3f")
                                    for c in EVALUATION_COLUMNS.values() if "@" in c})
        st.caption(
            f"{report.get('dataset', 'MovieLens')}, {report.get('folds', '?')}-fold user "
            f"cross-validation, {report.get('date', '')}. SG: strong generalization (held-out "
            "users' favourites); Onb.: a new visitor's first ten ratings. Higher is better. "
            f"Reproduce with `{report.get('command', 'make evaluate')}`."
        )
    if chart:
        st.vega_lite_chart(spec=chart)
    if problem:
        st.warning(f"The evaluation report is incomplete: {problem}", icon=":material/warning:")
    elif not report and not chart:
        st.info("The offline evaluation has not been published yet: `make evaluate` writes "
                "docs/evaluation.json and the chart shown here.", icon=":material/science:")
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
    "recommendations, with a choice of models to compare. Your ratings live only in your "
    "browser session; the shared models are never changed by them."
)
dataset_section()
models_section()
st.header("Licence and citation", anchor=False)
st.markdown(LICENCE)
st.code(CITATION, language=None, wrap_lines=True)
if attribution := resources.poster_attribution():
    st.caption(attribution)
else:
    st.caption("Posters are drawn placeholders: set TMDB_API_KEY (or TMDB_READ_TOKEN) in "
               ".streamlit/secrets.toml or the environment to show TMDB posters.")
