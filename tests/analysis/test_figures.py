"""What the figures draw: the boxes, their order, colours and counts; the heat maps' columns."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.colors import to_rgb

from analysis.pipeline import AnalysisOptions, analyse, prepare
from analysis.plots import boxplot_figure, passage_figure, passage_matrices
from analysis.views import passage_view
from dmc.contracts.conditions import display_order
from dmc.figures import REFERENCE_FILL, SYSTEM_FILL


@pytest.fixture(scope="module")
def with_outside_system():
    """The simulated panel with ``random`` renamed to an imported system, ``aardvark``
    (alphabetically before every built-in name), and one rater who never rated mono."""
    from analysis.simulate import simulate_panel

    ratings = simulate_panel(12, seed=3).ratings
    ratings["method"] = ratings["method"].replace({"random": "aardvark"})
    skipped = (ratings["rater_id"] == "sim-002") & (ratings["method"] == "mono")
    return ratings.loc[~skipped].reset_index(drop=True)


def _panels(figure):
    return [ax for ax in figure.axes if ax.get_title()]


def _box_fills(ax) -> list[tuple[float, float, float]]:
    """Fill colours of the boxes from left to right (by their position on x)."""
    boxes = sorted(ax.patches, key=lambda p: p.get_extents().x0)
    return [tuple(np.round(p.get_facecolor()[:3], 3)) for p in boxes]


def test_display_order_is_reference_systems_then_anchors():
    assert display_order(["anchor_3k5", "zeta", "mono", "target", "anchor_7k", "alpha"]) == [
        "target",
        "mono",
        "alpha",
        "zeta",
        "anchor_7k",
        "anchor_3k5",
    ]


def test_boxes_carry_n_order_and_roles_and_the_title_the_exclusions(with_outside_system):
    analysis = prepare(with_outside_system, AnalysisOptions(simulated="only"))
    kept = analysis.ratings
    figure = boxplot_figure(kept, analysis.title, screening=analysis.screening)
    assert figure.get_suptitle().splitlines() == [
        "SIMULATED ratings (not a real panel)",
        "11 of 12 raters kept; 1 excluded by BS.1534-3 post-screening",
    ]
    for ax, task in zip(_panels(figure), ["drums", "full"]):
        rows = kept.loc[kept["task"] == task]
        raters = rows["rater_id"].nunique()
        assert ax.get_title() == f"{task} ({raters} raters)"
        labels = [t.get_text() for t in ax.get_xticklabels()]
        methods = [label.split("\n")[0] for label in labels]
        expected = ["target", "console", "demucs", "mono", "aardvark", "anchor_7k", "anchor_3k5"]
        assert methods == [m for m in expected if m in set(rows["method"])]
        for method, label in zip(methods, labels):
            group = rows.loc[rows["method"] == method]
            n = f"n={len(group)}"
            fewer = group["rater_id"].nunique()
            assert label.split("\n")[1] == (n if fewer == raters else f"{n}, {fewer} raters")
        assert labels[methods.index("mono")].endswith(f", {raters - 1} raters")
        grey, system = tuple(np.round(REFERENCE_FILL, 3)), tuple(np.round(to_rgb(SYSTEM_FILL), 3))
        assert _box_fills(ax) == [
            grey if m in ("target", "anchor_7k", "anchor_3k5") else system for m in methods
        ]


def test_the_title_says_when_screening_was_off(with_outside_system):
    analysis = prepare(with_outside_system, AnalysisOptions(simulated="only", screening=False))
    figure = boxplot_figure(analysis.ratings, screening=analysis.screening)
    assert figure.get_suptitle() == (
        "screening off: all 12 raters shown (1 would be excluded by BS.1534-3)"
    )
    assert _panels(figure)[0].get_title() == "drums (12 raters)"


def test_passage_heat_map_shows_the_methods_of_the_ratings_only(with_outside_system):
    analysis = analyse(
        with_outside_system, AnalysisOptions(simulated="only", n_resamples=200), progress=False
    )
    passages, kept = analysis.passages, analysis.ratings
    panels = passage_matrices(passages, kept)
    figure = passage_figure(passages, kept)
    heat_axes = [ax for ax in figure.axes if ax.get_title().endswith("mean rating per passage")]
    assert len(panels) == len(heat_axes) == 2
    for (title, matrix), ax, task in zip(panels, heat_axes, ["drums", "full"]):
        methods = display_order(kept.loc[kept["task"] == task, "method"].unique())
        assert title.startswith(task) and list(matrix.columns) == methods
        drawn = [t.get_text() for t in ax.get_xticklabels()]
        assert drawn == methods
        assert not {"raters", "p_value", "p_holm", "systems_spread", "kendalls_w"} & set(drawn)
        rows = passages.loc[passages["task"] == task]
        assert len(matrix) == len(rows) == kept.loc[kept["task"] == task, "passage_id"].nunique()
        np.testing.assert_allclose(matrix.to_numpy(), rows[methods].to_numpy(dtype=float))
        mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
        np.testing.assert_allclose(
            np.asarray(mesh.get_array()).reshape(matrix.shape), matrix.to_numpy()
        )
        assert np.nanmax(matrix.to_numpy()) <= 1.0  # ratings, not counts of raters


def test_passage_heat_map_refuses_a_table_without_the_rated_methods(simulated_ratings):
    kept = simulated_ratings.loc[~simulated_ratings["is_training"]]
    passages = passage_view(kept).drop(columns=["mono"])
    with pytest.raises(ValueError, match="mono"):
        passage_matrices(passages, kept)
