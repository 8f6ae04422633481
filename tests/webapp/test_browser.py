"""End to end in Debian's Chromium (Playwright): one rater through the whole test.

Consent, questionnaire, volume, the training trial and every test trial (playing every
condition and the open reference with the keyboard, rating with the arrow keys and one
slider with the mouse, setting a loop region on the waveform), comments, finish. Then
the ratings must be in the database and in the CSV export. Skips without Chromium
locally; fails in CI (``CI`` set), where the browser is installed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from webapp.export import ratings_frame

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
KEYS = "1234567890-="
TEST_CONFIG = """\
reference: both
anchors: true
training:
  trials: 1
checks:
  play_all_before_rating: true
  one_at_top: true
  only_playing_slider_movable: true
completion:
  code: "E2E-OK"
"""


@pytest.fixture(scope="module")
def browser():
    reason = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        reason = "playwright is not installed"
    if reason is None and not CHROMIUM.is_file():
        reason = f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI is set, so the browser tests must run: {reason}")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield instance
        instance.close()


def _expected_trial_ratings(n: int, mouse_label_index: int) -> list[float | None]:
    """Keyboard plan: first letter to 1.0, the others 0.5 - 0.05 i; one by mouse (None)."""
    out: list[float | None] = [1.0] + [round(0.5 - 0.05 * i, 2) for i in range(1, n)]
    out[mouse_label_index] = None
    return out


def _rate_trial(page, data: dict) -> list[float]:
    labels = [c["label"] for c in data["conditions"]]
    plan = _expected_trial_ratings(len(labels), mouse_label_index=1)
    assert page.locator("#next").is_disabled()
    for i, label in enumerate(labels):
        page.keyboard.press(KEYS[i])
        slider = page.locator(f"#slider-{label}")
        assert slider.is_enabled()  # only the playing condition's slider moves
        if i > 0:
            assert page.locator(f"#slider-{labels[0]}").is_disabled()
        if plan[i] is None:  # rate this one with the mouse, a quarter up the slider
            box = slider.bounding_box()
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + 0.75 * box["height"])
        else:
            page.keyboard.press("ArrowUp")  # first press sets an unset slider to 0.5
            for _ in range(10 if i == 0 else i):
                page.keyboard.press("ArrowUp" if i == 0 else "ArrowDown")
    if data["reference_url"]:
        page.keyboard.press("r")
    values = page.evaluate("Object.values(window.dmcTrial.ratings)")
    mouse_value = values[1]
    assert 0.15 <= mouse_value <= 0.35, mouse_value
    for want, got in zip(plan, values):
        if want is not None:
            assert got == pytest.approx(want)
    return values


def test_a_rater_completes_the_test_in_chromium(browser, server_process, tmp_path):
    config = tmp_path / "test.yaml"
    config.write_text(TEST_CONFIG)
    server = server_process(extra_args=("--config", str(config))).start()
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(15000)

    page.goto(f"{server.url}/?PROLIFIC_PID=e2e-worker")
    page.locator("label.switch").click()
    page.locator("#start").click()
    page.locator("#experience_years").fill("8")
    page.locator("#role").select_option("mixing_engineer")
    page.locator("#playback_device").select_option("closed_headphones")
    page.locator("#continue").click()
    page.wait_for_selector("body[data-ready='true']")
    page.locator("#volume-play").click()
    page.locator("label.switch").click()
    page.locator("#continue").click()

    submitted: dict[str, list[float]] = {}
    for number in range(1, 5):
        page.wait_for_selector("body[data-ready='true']")
        data = json.loads(page.locator("#trial-data").text_content())
        assert data["position"] == number and (data["is_training"] == (number == 1))
        assert page.locator("#training-badge").count() == (1 if number == 1 else 0)
        submitted[data["trial_id"]] = _rate_trial(page, data)
        # Playback is running in the audio context and moves forward.
        assert page.evaluate("window.dmcTrial.player.ctx.state") == "running"
        before = page.evaluate("window.dmcTrial.player.position()")
        page.wait_for_timeout(150)
        assert page.evaluate("window.dmcTrial.player.playing") is True
        assert page.evaluate("window.dmcTrial.player.position()") != before
        if number == 2:  # drag a loop region over the middle of the waveform
            box = page.locator("#waveform").bounding_box()
            y = box["y"] + box["height"] / 2
            page.mouse.move(box["x"] + 0.2 * box["width"], y)
            page.mouse.down()
            page.mouse.move(box["x"] + 0.8 * box["width"], y, steps=5)
            page.mouse.up()
            start, end = page.evaluate(
                "[window.dmcTrial.player.loopStart, window.dmcTrial.player.loopEnd]"
            )
            assert start == pytest.approx(0.2, abs=0.03) and end == pytest.approx(0.8, abs=0.03)
            assert "Loop 0.2" in page.locator("#loop-label").text_content()
        page.locator("#comment").fill(f"trial {number}")
        assert page.locator("#next").is_enabled()
        with page.expect_navigation():
            page.locator("#next").click()

    page.locator("#final-comment").fill("=cmd well done")
    page.locator("#finish").click()
    assert page.locator("#completion-code").text_content() == "E2E-OK"
    assert errors == []
    page.close()

    frame = ratings_frame(f"sqlite:///{tmp_path / 'instance' / 'dmc-listening.sqlite'}")
    assert (
        len(frame) == 7 + 7 + 7 + 6 and frame["rater_id"].nunique() == 1
    )  # full mixes have no demucs
    assert frame["is_training"].sum() == 7 and not frame["is_simulated"].any()
    for trial_id, values in submitted.items():
        stored = sorted(frame.loc[frame["trial_id"] == trial_id, "rating"])
        assert stored == pytest.approx(sorted(values))
    assert (frame["plays"] == 1).all() and (frame["time_on_trial_ms"] > 0).all()

    env = {
        **os.environ,
        "DMC_WEBAPP_INSTANCE": str(tmp_path / "instance"),
        "DMC_SECRET_KEY": "y" * 48,
    }
    env.pop("DMC_DATABASE_URL", None)
    exported = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "webapp", "export-ratings"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=True,
    ).stdout
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert len(rows) == len(frame) and {r["trial_id"] for r in rows} == set(submitted)
