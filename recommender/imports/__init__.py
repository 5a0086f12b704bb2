"""Import ratings from the files people have (IMDb, Letterboxd, MovieLens CSV) and export them.

:func:`import_ratings` reads a file and returns an :class:`ImportReport`; it changes nothing,
so the app can show the report and let the visitor confirm before adding
``report.ratings`` with :meth:`ProfileStore.add_many <recommender.profiles.ProfileStore.add_many>`
(one transaction: an import applies completely or not at all).

Formats, detected from the header (columns are read by name, in any order, any case):

* ``imdb``: IMDb "Your Ratings" export (Const, Your Rating, Title, Year, Title Type, Date
  Rated, ...). ``Const`` (tt id) is matched to ``links.imdbId``; ratings 1-10 become 0.5-5.
  A row whose tt id is in the catalogue is matched whatever its Title Type (MovieLens lists a
  few TV films and mini-series); other TV series, episodes, games and podcasts are reported
  as skipped. Without links, rows are matched by title and year.
* ``letterboxd``: Letterboxd ``ratings.csv`` or ``diary.csv`` (Date, Name, Year, Letterboxd
  URI, Rating 0.5-5), matched by title and year (see :class:`TitleMatcher`).
* ``movielens``: ``movieId,rating`` (userId and timestamp optional; one user only).
* ``export``: this app's own export (title, year, movieId, imdbId, rating); matched by movieId,
  else imdbId, else title and year, so an export also moves between MovieLens versions.

Hard input raises :class:`RatingsImportError` naming the problem: over 5 MB, empty, binary
(ZIP, Excel, images, NUL bytes, ...), not text in UTF-8 / UTF-16 (with BOM) / Windows-1252 /
Latin-1, no recognisable columns, or no row with a valid rating. A row with a bad rating, or
one that matches no movie, only lands in ``report.unmatched`` with its reason; the rest is
imported. When a movie appears twice the latest rating wins: by the file's date column
when it has one (rows without a date count as older), else by row order.

Modules: :mod:`~.reading` (bytes to text and CSV rows), :mod:`~.formats` (which export it is
and how its rows read), :mod:`~.matching` (titles to movies), :mod:`~.importer`
(:func:`import_ratings`), :mod:`~.report`, :mod:`~.export`.
"""

from recommender.imports.export import export_ratings
from recommender.imports.importer import import_ratings
from recommender.imports.matching import TitleMatch, TitleMatcher
from recommender.imports.reading import MAX_IMPORT_BYTES
from recommender.imports.report import FORMATS, ImportReport, RatingsImportError, UnmatchedRow

__all__ = [
    "FORMATS",
    "MAX_IMPORT_BYTES",
    "ImportReport",
    "RatingsImportError",
    "TitleMatch",
    "TitleMatcher",
    "UnmatchedRow",
    "export_ratings",
    "import_ratings",
]
