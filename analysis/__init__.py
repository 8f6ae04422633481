"""Statistics of listening-test ratings: post-screening, box plots, significance tests.

Modules, in the order the data flows (see ``docs/analysis.md``):

- :mod:`analysis.ratings`: read the web app's export or database, validate, select.
- :mod:`analysis.screening`: ITU-R BS.1534-3 post-screening of assessors.
- :mod:`analysis.descriptives`, :mod:`analysis.inference`, :mod:`analysis.views`:
  medians/means/CIs; Friedman, Wilcoxon/Holm, permutation tests; per-passage and
  per-rater views and Kendall's W.
- :mod:`analysis.plots`, :mod:`analysis.tables`: figures (PNG/PDF) and tables (CSV,
  Markdown, LaTeX).
- :mod:`analysis.pipeline`, :mod:`analysis.cli`: the steps and options the scripts share.
- Scripts: ``boxplots.py``, ``significance.py``, ``report.py`` (run as paths or ``-m``).
"""
