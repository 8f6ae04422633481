"""Listening-test designs: trials from a render manifest and a test config, plans per rater.

- :mod:`evaluation.design.config`: the test config (YAML/TOML) and its checks;
- :mod:`evaluation.design.core`: trials of a design from a manifest and a config;
- :mod:`evaluation.design.plans`: each rater's trial order and condition letters;
- ``python -m evaluation.design``: check a config against a render, print a rater's plan.

The web app, the analysis's simulated panels and the command line all import it from here.
"""

from evaluation.design.config import (
    MAX_SIGNALS,
    REFERENCE_METHOD,
    DesignError,
    TestConfig,
    load_config,
)
from evaluation.design.core import TestDesign, Trial, build_design, load_design
from evaluation.design.plans import LABELS, PlannedTrial, RaterPlan, plan_for_rater, rater_seed

__all__ = [
    "LABELS",
    "MAX_SIGNALS",
    "REFERENCE_METHOD",
    "DesignError",
    "PlannedTrial",
    "RaterPlan",
    "TestConfig",
    "TestDesign",
    "Trial",
    "build_design",
    "load_config",
    "load_design",
    "plan_for_rater",
    "rater_seed",
]
