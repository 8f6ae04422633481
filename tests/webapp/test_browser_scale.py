"""The shipped 0-100 MUSHRA config in Chromium: a rater rates on 0-100, the export holds 0-1.

``evaluation/configs/mushra100.yaml`` as it ships (bs1534.yaml on a 0-100 scale) through
a real server. The steps before the last scored trial go through the JSON API, on the
0-100 scale; the last scored trial is rated in the page with the keyboard and a click:
the band labels, the sliders' range and step, whole-number values, the "at the top"
hint, and the saved ratings are each the page's value divided by 100 in the export.

Skips without Chromium locally; fails in CI (``CI`` set), where the browser is installed.
"""

from __future__ import annotations

import json

import pytest

from webapp.services.headphones import answer_key, correct_answers
from webapp.storage.export import ratings_frame

from .conftest import call_json

pytestmark = [pytest.mark.browser, pytest.mark.slow]

KEYS = "1234567890-="
SECRET_KEY = "x" * 48  # what ServerProcess gives the server


def _through_the_api(server, count: int) -> tuple[str, list[str]]:
    """A rater who did everything but the last ``count`` trials through the API (0-100)."""
    base = f"{server.url}/api/raters"
    token = call_json(base, {"consent": True})["token"]
    form = {"experience_years": 6, "role": "producer", "playback_device": "closed_headphones"}
    call_json(f"{base}/{token}/questionnaire", form)
    call_json(f"{base}/{token}/volume", {"level_db": -6})
    trials = call_json(f"{base}/{token}/headphones")["trials"]
    answers = correct_answers(answer_key(SECRET_KEY, token, trials))
    assert call_json(f"{base}/{token}/headphones", {"answers": answers})["passed"]
    trial_ids = call_json(f"{base}/{token}")["trial_ids"]
    for number, trial_id in enumerate(trial_ids[:-count]):
        trial = call_json(f"{base}/{token}/trials/{trial_id}")
        assert trial["scale"]["max"] == 100
        labels = [c["label"] for c in trial["conditions"]]
        ratings = {label: (37 + 7 * i + number) % 100 for i, label in enumerate(labels)}
        ratings[labels[0]] = 100
        plays = dict.fromkeys(labels, 1) | {"reference": 1}
        saved = call_json(
            f"{base}/{token}/trials/{trial_id}",
            {"ratings": ratings, "plays": plays, "time_on_trial_ms": 4000},
        )
        assert saved["saved"] is True
    return token, trial_ids


def test_a_rater_rates_on_0_100_and_the_export_holds_0_1(chromium, mushra_server):
    server = mushra_server
    token, trial_ids = _through_the_api(server, count=1)
    browser = chromium("--autoplay-policy=no-user-gesture-required")
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(20000)
    page.goto(f"{server.url}/r/{token}")
    page.wait_for_selector("body[data-ready='true']")
    data = json.loads(page.locator("#trial-data").text_content())
    assert data["trial_id"] == trial_ids[-1] and not data["is_training"]
    assert data["scale"] == {
        "min": 0, "max": 100, "step": 1, "decimals": 0,
        "bands": ["Bad", "Poor", "Fair", "Good", "Excellent"], "top": 100,
    }  # fmt: skip
    bands = page.locator(".scale").first.locator("span").all_text_contents()
    assert bands == ["Excellent", "Good", "Fair", "Poor", "Bad"]
    labels = [c["label"] for c in data["conditions"]]
    for label in labels:
        slider = page.locator(f"#slider-{label}")
        assert [slider.get_attribute(a) for a in ("min", "max", "step")] == ["0", "100", "1"]

    page.locator("#next").click()  # too early: what is missing, on this scale
    assert "at the very top (100)." in page.locator("#checks").inner_text()

    for i, label in enumerate(labels):
        page.keyboard.press(KEYS[i])  # play it: only the heard slider moves
        if i == 1:  # a click a quarter up the slider: a whole number
            box = page.locator(f"#slider-{label}").bounding_box()
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] * 0.75)
        else:
            page.keyboard.press("ArrowUp")  # an unset slider starts in the middle: 50
            assert page.locator(f"#value-{label} .number").text_content() == "50"
            for _ in range(10 if i == 0 else i):  # 5 per press (shift: 1)
                page.keyboard.press("ArrowUp" if i == 0 else "ArrowDown")
            if i > 1:
                page.keyboard.press("Shift+ArrowUp")
    page.keyboard.press("r")
    values = page.evaluate(f"{json.dumps(labels)}.map(l => window.dmcTrial.ratings[l])")
    shown = [page.locator(f"#value-{label} .number").text_content() for label in labels]
    assert values[0] == 100 and shown[0] == "100"
    assert page.locator(f"#value-{labels[0]} .band").text_content() == "Excellent"
    assert shown == [str(v) for v in values] and all(isinstance(v, int) for v in values)
    assert 1 <= values[1] <= 49  # the click, a quarter up
    assert values[2:] == [50 - 5 * i + 1 for i in range(2, len(labels))]
    with page.expect_navigation():
        page.locator("#next").click()
    assert page.locator("#final-comment").is_visible()
    assert errors == []
    browser.close()

    frame = ratings_frame(f"sqlite:///{server.instance / 'dmc-listening.sqlite'}")
    rows = frame[frame["trial_id"] == data["trial_id"]].set_index("condition_label")
    assert {label: rows.loc[label, "rating"] for label in labels} == {
        label: value / 100 for label, value in zip(labels, values)
    }
    assert frame["rating"].between(0, 1).all() and (frame["rating"] == 1.0).any()
    assert frame["trial_id"].nunique() == len(trial_ids)  # 2 training + 6 scored, all on 0-1
