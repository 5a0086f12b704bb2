"""`python -m recommender evaluate --sections ...`: each runs alone and writes its docs."""

from __future__ import annotations

import argparse
import json

import pytest

from recommender.evaluation import add_arguments, command
from recommender.evaluation.synthetic import synthetic_movielens


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    data = synthetic_movielens(20_000, seed=3)
    path = tmp_path_factory.mktemp("ml")
    data.movies[["movieId", "title", "genres"]].to_csv(path / "movies.csv", index=False)
    data.ratings.to_csv(path / "ratings.csv", index=False)
    return path


def _args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    return parser.parse_args(list(argv))


def test_sections_run_alone_and_write_only_their_reports(folder, tmp_path, capsys):
    docs = tmp_path / "docs"
    args = _args(
        "--movielens-dir", str(folder), "--folds", "2", "--algorithms", "ease",
        "--groups-per-fold", "3", "--sections", "similar,niche,groups", "--json",
        "--output-dir", str(docs),
    )
    assert command(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert list(printed) == ["similar", "niche", "groups"]
    assert sorted(p.name for p in docs.iterdir()) == [
        "groups.json", "groups.md", "niche.json", "niche.md", "similar.json", "similar.md"
    ]
    for section, report in printed.items():
        assert report == json.loads((docs / f"{section}.json").read_text())
        assert report["command"].endswith(f"--sections {section}")
        assert "--folds 2" in report["command"] and report["n_ratings"] > 0
        assert report["command"] in (docs / f"{section}.md").read_text()
    models = [row["model"] for row in printed["similar"]["models"]]
    assert models == ["implicit item-kNN", "implicit ALS", "ease, collaborative only", "ease"]
    assert [row["model"] for row in printed["niche"]["models"]][-1].startswith("default")
    assert {row["size"] for row in printed["groups"]["results"]} == {2, 4, 6}
    assert "--groups-per-fold 3 --sections groups" in printed["groups"]["command"]


def test_one_section_prints_its_own_report_and_unknown_sections_are_named(folder, capsys):
    assert command(_args("--movielens-dir", str(folder), "--algorithms", "ease",
                         "--sections", "similar", "--json", "--output-dir", "")) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["n_franchises"] > 100 and "models" in printed
    with pytest.raises(ValueError, match="unknown section.*similiar.*choose from main"):
        command(_args("--movielens-dir", str(folder), "--sections", "main,similiar"))


def test_the_default_runs_every_section():
    assert _args().sections.split(",") == ["main", "similar", "niche", "groups"]
