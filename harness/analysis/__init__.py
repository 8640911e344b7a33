"""Analysis of a study folder: tables, plots, the winners, the report.  Never starts Ray.

The package imports nothing itself: `status` and `best` read a study through
:mod:`harness.analysis.results` alone, without loading pandas, SciPy or the plotting
libraries the full analysis (:mod:`harness.analysis.summary`) needs."""
