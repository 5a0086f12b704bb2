"""``python -m recommender.posters prefetch``: see :mod:`recommender.posters.cli`."""

from recommender.posters.cli import main

raise SystemExit(main())
