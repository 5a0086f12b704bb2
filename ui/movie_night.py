"""Movie night: two to six people, each added by private link, file import or rating here,
and ten picks for all of them (``recommender.groups.recommend_group`` does the work).

Everything lives in ``st.session_state`` under ``night-*`` keys. A member added by private link
is a read-only copy of that profile's ratings: the token is typed into a password field, read
once through the profile store and never kept, shown or put in the URL. Member names are typed
by visitors: they reach HTML only through ``html.escape`` and Markdown through ``md_escape``.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pandas as pd
import streamlit as st

from recommender import ALGORITHMS
from recommender.groups import DEFAULT_RULE, RULE_LABELS, RULE_NOTES, RULES, recommend_group
from recommender.imports import MAX_IMPORT_BYTES, ImportReport, RatingsImportError
from recommender.profiles import ProfileNotFound, ProfileStoreError
from recommender.tastes import seed_profile
from ui import cards, movies, onboarding, profile, resources, session, timing
from ui.text import count, md_escape, model_label, short_stars

log = logging.getLogger(__name__)

MIN_MEMBERS, MAX_MEMBERS = 2, 6
N_PICKS = 10
NAME_CHARS = 24
STARTERS = 9  # movies offered to rate on "Rate here"
MEMBERS = "night-members"  # list of {"id", "name", "ratings", "source"}
NEXT_ID = "night-next-id"
SEEN = "night-seen"  # movieIds someone in the group has seen (without rating them)
MESSAGE = "night-message"  # (kind, text) to show once after a callback
NONCE = "night-nonce"  # part of the uploader's key: a new key empties it
IMPORT = "night-import"  # (file_id, ImportReport or why it cannot be imported)
WAYS = {"rate": "Rate here", "link": "Private link", "file": "Import a file"}
SOURCES = {"rate": "rated here", "link": "from a private link", "file": "imported",
           "me": "your ratings"}
CSS = """
<style>
.mn-stars { display: flex; flex-wrap: wrap; gap: 0.2rem 0.5rem; font-size: 0.78rem;
  font-variant-numeric: tabular-nums; margin-bottom: 0.2rem; }
.mn-stars span { white-space: nowrap; }
.mn-stars b { font-weight: 600; color: #d6336c; }
</style>
"""


# --- members -----------------------------------------------------------------------------


def members() -> list[dict[str, Any]]:
    """The group, in the order people were added."""
    return st.session_state.setdefault(MEMBERS, [])


def _say(kind: str, text: str) -> None:
    st.session_state[MESSAGE] = (kind, text)


def _checked_name() -> str | None:
    """The typed name, or None after saying what is wrong with it."""
    name = " ".join(str(st.session_state.get("night-name") or "").split())
    if not name:
        _say("error", "Type the person's name or nickname first.")
    elif len(name) > NAME_CHARS:
        _say("error", f"Names can be up to {NAME_CHARS} characters.")
    elif name.casefold() in {m["name"].casefold() for m in members()}:
        _say("error", f"{md_escape(name)} is already in the group; choose another name.")
    elif name in ("movieId", "score", "reason"):
        _say("error", f"“{md_escape(name)}” cannot be used as a name; choose another.")
    elif len(members()) >= MAX_MEMBERS:
        _say("error", f"A movie night here is for up to {MAX_MEMBERS} people.")
    else:
        return name
    return None


def _add(name: str, ratings: Mapping[int, float], source: str) -> None:
    if not ratings:
        _say("error", f"{md_escape(name)} has no ratings of movies in this catalogue yet.")
        return
    member_id = st.session_state.get(NEXT_ID, 0)
    st.session_state[NEXT_ID] = member_id + 1
    members().append({"id": member_id, "name": name, "source": source,
                      "ratings": {int(m): float(r) for m, r in ratings.items()}})
    st.session_state["night-name"] = ""
    _say("success", f"Added {name} ({count(len(ratings), 'rating')}, {SOURCES[source]}).")


def remove_member(member_id: int) -> None:
    """Button callback: take one person out of the group."""
    st.session_state[MEMBERS] = [m for m in members() if m["id"] != member_id]


def token_from(text: str) -> str:
    """The profile token in a pasted private link (or the bare token itself)."""
    text = text.strip()
    if "profile=" in text:
        return parse_qs(urlsplit(text).query).get(profile.PARAM, [""])[0]
    return text


def add_from_link() -> None:
    """Button callback: copy the ratings behind a private link (read only, token not kept)."""
    name = _checked_name()
    token = token_from(str(st.session_state.get("night-link") or ""))
    st.session_state["night-link"] = ""  # the secret leaves the session at once
    if name is None:
        return
    if not token:
        _say("error", "Paste their private link first.")
        return
    try:
        saved = resources.profile_store().ratings(token)
    except ProfileNotFound as error:  # the same message for every bad token; never echo it
        _say("error", f"That private link does not work. {error}")
        return
    except ProfileStoreError as error:
        log.warning("Could not read a saved profile: %s", error)
        _say("error", profile.STORE_DOWN)
        return
    catalogue = resources.catalogue()
    _add(name, {m: r for m, r in saved.items() if m in catalogue.index}, "link")


def add_from_file() -> None:
    """Button callback: add the person whose ratings file was matched below."""
    cached = st.session_state.get(IMPORT)
    if cached is None or not isinstance(cached[1], ImportReport):
        return
    report = cached[1]
    name = _checked_name()
    if name is None:
        return
    _add(name, report.ratings, "file")
    st.session_state.pop(IMPORT, None)
    st.session_state[NONCE] = st.session_state.get(NONCE, 0) + 1


def _draft_ratings() -> dict[int, float]:
    """What "Rate here" holds: the chosen taste groups' movies, then the movies rated."""
    groups = resources.taste_groups()
    chosen = [g for i, g in enumerate(groups) if st.session_state.get(f"night-group-{i}")]
    ratings = seed_profile(
        chosen, rating=onboarding.GROUP_RATING, per_group=onboarding.GROUP_POSTERS
    )
    for key, value in st.session_state.items():
        if str(key).startswith("night-rate-") and value is not None:
            ratings[int(str(key).removeprefix("night-rate-"))] = float(value)
    return ratings


def add_rated() -> None:
    """Button callback: add the person who just rated here, then clear the pickers."""
    name = _checked_name()
    if name is None:
        return
    _add(name, _draft_ratings(), "rate")
    for key in list(st.session_state):
        if str(key).startswith(("night-rate-", "night-group-")):
            st.session_state[key] = None if str(key).startswith("night-rate-") else False


def add_me() -> None:
    """Button callback: add the visitor with their ratings from Your picks."""
    name = _checked_name()
    if name is not None:
        _add(name, session.ratings(), "me")


# --- panels ------------------------------------------------------------------------------


def members_panel() -> None:
    """Who is in the group, each with a remove button."""
    group = members()
    st.subheader("Who's watching", anchor=False)
    if not group:
        st.caption(f"Add {MIN_MEMBERS} to {MAX_MEMBERS} people. Each one types a name, then "
                   "adds their taste: a private link from Your picks, an IMDb, Letterboxd or "
                   "CSV export, or a few ratings right here, in turn on this device.")
    for member in group:
        with st.container(horizontal=True, vertical_alignment="center", border=True):
            st.markdown(f"**{md_escape(member['name'])}** · "
                        f"{count(len(member['ratings']), 'rating')}, {SOURCES[member['source']]}")
            st.button("", key=f"night-remove-{member['id']}", icon=":material/close:",
                      help=f"Remove {member['name']}", on_click=remove_member,
                      args=(member["id"],), type="tertiary")


def add_panel() -> None:
    """A name, then one of the three ways to add that person's taste."""
    if len(members()) >= MAX_MEMBERS:
        st.caption(f"The group is full ({MAX_MEMBERS} people): remove someone to add another.")
        return
    with st.container(border=True):
        st.markdown("**Add a person**")
        st.text_input("Name or nickname", key="night-name", max_chars=NAME_CHARS,
                      placeholder="e.g. Ana")
        way = st.segmented_control("How", list(WAYS), key="night-way", required=True,
                                   default="rate", format_func=WAYS.get,
                                   label_visibility="collapsed")
        if way == "link":
            _link_way()
        elif way == "file":
            _file_way()
        else:
            _rate_way()


def _link_way() -> None:
    st.caption("Paste their private link from Your picks. Their ratings are only read, "
               "never changed, and the link is not kept or shown.")
    st.text_input("Private link", key="night-link", type="password",
                  placeholder="https://…/picks?profile=…")
    st.button("Add from the link", key="night-add-link", on_click=add_from_link,
              icon=":material/link:", type="primary")


def _file_way() -> None:
    st.caption("IMDb: Your Ratings → ⋯ → Export. Letterboxd: Settings → Data → Export, then "
               "ratings.csv. Or any CSV with movieId and rating columns.")
    nonce = st.session_state.get(NONCE, 0)
    file = st.file_uploader(f"Ratings file (CSV, up to {MAX_IMPORT_BYTES // 2**20} MB)",
                            type=["csv"], key=f"night-file-{nonce}",
                            max_upload_size=MAX_IMPORT_BYTES // 2**20)
    if file is None:
        st.session_state.pop(IMPORT, None)
        return
    cached = st.session_state.get(IMPORT)
    if cached is None or cached[0] != file.file_id:  # read once per upload, not every rerun
        try:
            found = profile.read_ratings_file(file, resources.movielens(),
                                              resources.title_matcher())
        except RatingsImportError as error:
            found = str(error)
        cached = st.session_state[IMPORT] = (file.file_id, found)
    report = cached[1]
    if isinstance(report, str):
        st.error(report, icon=":material/error:")
        return
    st.caption(f"{report.format_name}: {count(len(report.ratings), 'movie')} matched, "
               f"{count(report.unmatched_count, 'row')} not matched.")
    st.button(f"Add with {count(len(report.ratings), 'rating')}", key="night-add-import",
              on_click=add_from_file, icon=":material/playlist_add:", type="primary",
              disabled=not report.ratings)


def _rate_way() -> None:
    groups = resources.taste_groups()
    catalogue = resources.catalogue()
    if groups:
        st.caption("Quickest: switch on the kinds of movies they like, then rate any movies "
                   "below they have seen.")
        grid = st.grid(2, gap="small", min_column_width=160)
        for i, group in enumerate(groups):
            rows = movies.rows(catalogue, group.movie_ids[:onboarding.GROUP_POSTERS])
            with grid.cell():
                posters = resources.poster_urls(rows, "w154")
                cards.html_block(onboarding.group_tile_html(group.name, rows, posters))
                st.toggle("They like these", key=f"night-group-{i}")
    rows = movies.rows(catalogue, resources.starters()[:STARTERS])
    cards.movie_grid(rows, "night-starter", columns=3, extra=_rating_picker(rows))
    draft = _draft_ratings()
    st.button(f"Add with {count(len(draft), 'rating')}" if draft else "Add",
              key="night-add-rated", on_click=add_rated, icon=":material/person_add:",
              type="primary", disabled=not draft)


def _rating_picker(rows: pd.DataFrame):
    titles = rows["display_title"].to_dict()

    def picker(movie_id: int) -> None:
        st.selectbox(f"Their rating of {titles[movie_id]}", session.STAR_STEPS[::-1],
                     index=None, key=f"night-rate-{movie_id}", format_func=short_stars,
                     placeholder="Rate it…", label_visibility="collapsed")
    return picker


# --- picks -------------------------------------------------------------------------------


def rule_line(rule: str, report: Mapping[str, Any] | None) -> str:
    """One line: the rule in use, what it does, and why the default is the default."""
    line = f"**{RULE_LABELS[rule]}**: {RULE_NOTES[rule]}."
    if report and report.get("default_rule") in RULES:
        default = report["default_rule"]
        summary = rule_summary(report)
        figures = ""
        if summary is not None and default in summary.index:
            others = summary[summary.index.isin(RULES)].drop(index=default)
            figures = (f" (worst-member NDCG@10 {summary.loc[default, 'worst']:.3f}, next best "
                       f"{others['worst'].max():.3f})") if len(others) else ""
        why = ("served the least-happy member best in our offline test of groups of 2 to 6"
               f"{figures}")
        line += (f" The default, because it {why}." if rule == default
                 else f" The default, {RULE_LABELS[default]}, {why}.")
    return line


def rule_summary(report: Mapping[str, Any]) -> pd.DataFrame | None:
    """Per rule: mean and worst-member NDCG@10 averaged over every group kind and size."""
    results = pd.DataFrame(report.get("results") or [])
    if results.empty or not {"rule", "mean_ndcg", "worst_ndcg"} <= set(results):
        return None
    summary = results.groupby("rule", sort=False)[["mean_ndcg", "worst_ndcg"]].mean()
    summary.index = summary.index.astype(str)
    return summary.rename(columns={"mean_ndcg": "mean", "worst_ndcg": "worst"})


def group_report() -> dict[str, Any] | None:
    """docs/groups.json, or None when it is missing or unreadable (logged)."""
    try:
        return json.loads((resources.DOCS / "groups.json").read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as error:
        log.warning("docs/groups.json could not be read: %s", error)
        return None


def controls() -> dict[str, Any]:
    """Model, rule and filters; returns the chosen settings."""
    session.sync_widget("night-model", session.algorithm())
    algorithm = st.segmented_control(
        "Model", list(ALGORITHMS), key="night-model", format_func=resources.switch_label,
        required=True,
        on_change=session.on_algorithm_change, args=("night-model",),
    ) or session.algorithm()
    rule = st.selectbox("Rule", list(RULES), key="night-rule", format_func=RULE_LABELS.get,
                        index=list(RULES).index(DEFAULT_RULE))
    data_years = resources.year_range()
    with st.container(horizontal=True, vertical_alignment="center"):
        with st.popover("Filters", icon=":material/filter_list:"):
            genres = st.multiselect("Genres (any of them)", resources.genres(),
                                    key="night-genres", placeholder="All genres")
            years = st.slider("Years", *data_years, value=data_years, key="night-years")
        unseen = st.toggle("Nothing anyone has seen", value=True, key="night-unseen",
                           help="Leave out movies someone marked “Seen it” (rated movies are "
                                "always left out).")
    return {"algorithm": algorithm, "rule": rule, "genres": genres,
            "years": None if tuple(years) == data_years else tuple(years), "unseen": unseen}


def mark_seen(movie_id: int) -> None:
    """Button callback: someone has seen this pick (it then leaves the list)."""
    st.session_state.setdefault(SEEN, set()).add(int(movie_id))


def stars_html(row: Mapping[str, Any], names: list[str]) -> str:
    """Every member's predicted stars for one pick, as escaped HTML."""
    parts = "".join(
        f"<span>{html.escape(name)} <b>★ {float(row[name]):.1f}</b></span>"
        for name in names if pd.notna(row[name])
    )
    return f'<div class="mn-stars">{parts}</div>' if parts else ""


def picks_panel() -> None:
    """The group's ten picks, with everyone's stars and a reason naming people."""
    st.subheader("Picks for the group", anchor=False)
    settings = controls()
    group = members()
    st.markdown(rule_line(settings["rule"], group_report()))
    if len(group) < MIN_MEMBERS:
        st.info(f"Add {'two people' if not group else 'one more person'} to see picks for "
                "the whole group.", icon=":material/group_add:")
        return
    model = resources.model_or_none(settings["algorithm"])
    if model is None:
        return
    catalogue = resources.catalogue()
    known = [g for g in settings["genres"] if g in model.genres_]
    seen = sorted(st.session_state.get(SEEN, set())) if settings["unseen"] else None
    names = [m["name"] for m in group]
    picks = recommend_group(
        model, {m["name"]: m["ratings"] for m in group},
        n=0 if settings["genres"] and not known else N_PICKS, rule=settings["rule"],
        stars_model=resources.star_model(), titles=catalogue["display_title"],
        genres=known or None, years=settings["years"], exclude=seen,
    )
    if picks.empty:
        st.info("No movie matches these filters. Widen the years or choose other genres.",
                icon=":material/filter_alt_off:")
        return
    notes = {int(m): html.escape(r) if r else "A good match for everyone"
             for m, r in picks[["movieId", "reason"]].itertuples(index=False)}
    by_movie = picks.set_index("movieId").to_dict("index")

    def extra(movie_id: int) -> None:
        cards.html_block(stars_html(by_movie[movie_id], names))
        st.button("Seen it", key=f"night-seen-{movie_id}", on_click=mark_seen,
                  args=(movie_id,), icon=":material/visibility:", type="tertiary",
                  help="Someone has seen it: leave it out")

    st.caption(f"{model_label(settings['algorithm'])} picks for "
               f"{', '.join(md_escape(n) for n in names)}; stars are each person's predicted "
               "rating.")
    cards.movie_grid(movies.rows(catalogue, picks["movieId"].tolist()), "night", columns=5,
                     notes=notes, note_lines=3, extra=extra)


def show_message() -> None:
    """The outcome of the last add, once."""
    if found := st.session_state.pop(MESSAGE, None):
        kind, text = found
        if kind == "error":
            st.error(text, icon=":material/error:")
        else:
            st.toast(md_escape(text), icon=":material/group_add:")


@st.fragment
def body() -> None:
    """Members on the left, picks on the right (stacked on a phone)."""
    with timing.timed_run("movie-night-fragment"):
        _layout()


def _layout() -> None:
    cards.html_block(CSS)
    left, right = st.columns([5, 7], gap="large")
    with left:
        members_panel()
        show_message()
        if session.ratings() and len(members()) < MAX_MEMBERS:
            st.button("Add me with my ratings from Your picks", key="night-add-me",
                      on_click=add_me, icon=":material/person:")
        add_panel()
    with right:
        picks_panel()


def evaluation_section() -> None:
    """About: how the group rules compare (docs/groups.json), or nothing when unpublished."""
    report = group_report()
    summary = rule_summary(report) if report else None
    if summary is None:
        return
    st.subheader("Movie night: how the group rules compare", anchor=False)
    results = pd.DataFrame(report["results"])
    worst = results.pivot_table(index="rule", columns=["kind", "size"], values="worst_ndcg",
                                sort=False)
    worst.columns = [f"Worst, {kind} {size}" for kind, size in worst.columns]
    table = summary[["mean"]].rename(columns={"mean": "Mean NDCG@10"}).join(worst)
    table.index = [RULE_LABELS.get(r, r.capitalize()) for r in table.index]
    st.dataframe(table, column_config={c: st.column_config.NumberColumn(format="%.3f")
                                       for c in table.columns})
    default = report.get("default_rule")
    st.caption(
        "Groups of 2, 4 and 6 held-out users (random, or of similar taste), 10 ratings each; "
        "NDCG@10 of the group's list against each member's own held-out favourites. Worst: "
        "the least-served member. Individual: everyone's own list, for reference. "
        f"Default rule: {RULE_LABELS.get(default, default)}. Full table with confidence "
        f"intervals in docs/groups.md; reproduce with `{report.get('command', '')}`."
    )
