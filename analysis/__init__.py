"""Statistics of listening-test ratings: post-screening, box plots, significance tests."""
