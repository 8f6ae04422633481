"""End to end in Debian's Chromium (Playwright): the strict BS.1534 test on two laptops
(1280x800, 1366x768) and a phone (390x844).

One rater per viewport takes ``evaluation/configs/bs1534.yaml`` as it ships (open and
hidden reference, both anchors, six of nine passages, two training trials from passages
the rater does not rate, the headphone check, only the heard slider movable) through a
real server: consent, questionnaire, volume, headphone check, every trial, comments,
finish. Everything is asserted from what the page receives and shows:

- blinding, from the network responses: no ``Content-Disposition``, no ``Last-Modified``,
  an opaque ETag per URL, every condition and the open reference of a trial the same
  byte length, the reference's bytes unlike every letter's, and volume audio that no
  trial plays; the next trial's audio fetched (prefetched) while the rater is on this one;
  Chromium's decoder finds every condition of a trial equally long, the passage's length;
- layout: equal, evenly spread columns that do not move when a value label changes nor
  when playback starts (sliders measured in page coordinates before and while the first
  letter plays); on the laptops the letters and sliders of a scored trial on screen
  without scrolling once the instructions are folded; on the phone every condition and
  the band labels on screen without sideways scrolling; help that fits the input device;
  locked sliders explained;
- behaviour: the "what is missing" list only after trying to continue, errors of the
  server shown in an alert, a failed audio load retried from a button, stop and loop
  keys or buttons, the level control, time on trial that survives a reload and leaves
  out a hidden tab;
- the export: the later columns, the headphone result, and a stale overwrite refused.

Skips without Chromium locally; fails in CI (``CI`` set), where the browser is installed.
Set ``DMC_SCREENSHOT_DIR`` to keep screenshots of the pages (docs/img/ holds them).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from pathlib import Path
from urllib.parse import unquote

import pytest

from analysis.ratings import read_database
from analysis.screening import screen
from webapp.services.headphones import answer_key, correct_answers
from webapp.storage.export import ratings_frame

pytestmark = [pytest.mark.browser, pytest.mark.slow]

KEYS = "1234567890-="
#: The page's own record of what it fetched: (path, bytes over the network; 0 = cache).
RESOURCES = (
    "performance.getEntriesByType('resource')"
    ".map(e => [decodeURIComponent(new URL(e.name).pathname), e.transferSize])"
)
SECRET_KEY = "x" * 48  # what ServerProcess gives the server
VIEWPORTS = {
    "desktop": {"viewport": {"width": 1280, "height": 800}},  # a common laptop
    "laptop": {"viewport": {"width": 1366, "height": 768}},
    "phone": {
        "viewport": {"width": 390, "height": 844},
        "is_mobile": True,
        "has_touch": True,
        "device_scale_factor": 2,
    },
}


@pytest.fixture(scope="module")
def browser(chromium):
    instance = chromium("--autoplay-policy=no-user-gesture-required")
    yield instance
    instance.close()


class Network:
    """Every audio response the page received, by phase (one phase per page shown)."""

    def __init__(self, page) -> None:
        self.phase = 0
        self.responses: list[tuple[int, str, object]] = []
        page.on("response", self._seen)

    def _seen(self, response) -> None:
        path = response.url.split("://", 1)[1].split("/", 1)[1]
        if path.startswith(("audio/", "reference-audio/", "calibration-audio/", "headphone-")):
            self.responses.append((self.phase, "/" + path, response))

    def of(self, url: str, phase: int | None = None) -> list:
        return [r for p, u, r in self.responses if u == url and (phase is None or p == phase)]


def _shot(page, name: str, element: str | None = None) -> None:
    """A screenshot: the whole page, or the viewport scrolled to ``element`` (full-page
    shots lose the touch emulation). docs/img/ keeps them."""
    folder = os.environ.get("DMC_SCREENSHOT_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        if element:
            page.locator(element).evaluate("e => e.scrollIntoView({block: 'start'})")
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=element is None)


def _ends_with(path: str):
    """A URL predicate for ``page.route`` (paths hold ':' and '@', which globs mangle)."""
    wanted = unquote(path)
    return lambda url: unquote(url).endswith(wanted)


def _tap(page, locator, phone: bool) -> None:
    if phone:
        locator.scroll_into_view_if_needed()
        box = locator.bounding_box()
        page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    else:
        locator.click()


def _check_blinding(page, net: Network, data: dict, etags: dict[str, str]) -> None:
    """Headers, lengths and bytes of this trial's audio, as the page received them."""
    urls = [c["url"] for c in data["conditions"]] + [data["reference_url"]]
    bodies = {}
    for url in urls:
        response = net.of(url)[-1]
        headers = response.all_headers()
        assert response.status == 200, (url, response.status)
        assert "content-disposition" not in headers and "last-modified" not in headers
        assert "server-timing" not in headers
        etag = headers["etag"].strip('"')
        assert re.fullmatch(r"[0-9a-f]{32}", etag) and etags.setdefault(etag, url) == url
        bodies[url] = response.body()
    lengths = {len(b) for b in bodies.values()}
    assert len(lengths) == 1, lengths  # every condition and the open reference alike
    heads = {b[:10] for b in bodies.values()}
    assert len(heads) == 1, heads  # and the same first bytes (test_blinding.py: all of them)
    reference = bodies.pop(data["reference_url"])
    assert all(reference != b for b in bodies.values())
    # Chromium's decoder finds the same audio length in every file: the passage's, with
    # the encoder's delay and padding trimmed (gapless) as in the files on disk.
    rate, frames = page.evaluate(
        "[window.dmcTrial.player.ctx.sampleRate, window.dmcTrial.player.buffers.map(b => b.length)]"
    )
    assert len(frames) == len(urls) and len(set(frames)) == 1, frames
    assert abs(frames[0] - data["duration_seconds"] * rate) <= 1, (frames[0], rate)


def _check_layout(page, data: dict, phone: bool) -> dict[str, float]:
    """Even, fixed columns; on the phone everything on screen. Returns the slider x's."""
    labels = [c["label"] for c in data["conditions"]]
    area = page.locator("#rating-area").bounding_box()
    boxes = [page.locator(f"#slider-{label}").bounding_box() for label in labels]
    centers = [b["x"] + b["width"] / 2 for b in boxes]
    gaps = [b - a for a, b in itertools.pairwise(centers)]
    assert max(gaps) - min(gaps) < 2, gaps  # evenly spread
    assert centers[-1] > area["x"] + 0.85 * area["width"]  # over the whole panel
    widths = {round(page.locator(f"#play-{label}").bounding_box()["width"]) for label in labels}
    assert len(widths) == 1  # equal columns
    if phone:
        width = page.viewport_size["width"]
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.evaluate(
            "(a => a.scrollWidth <= a.clientWidth)(document.getElementById('rating-area'))"
        )
        for label in labels + ["reference"]:
            button = page.locator(f"#play-{label}" if label != "reference" else "#reference")
            box = button.bounding_box()
            assert box["x"] >= 0 and box["x"] + box["width"] <= width, label
            assert box["height"] >= 44  # a finger-sized target
            assert button.evaluate("b => b.scrollWidth <= b.clientWidth"), label
        scale = page.locator(".scale").first
        assert scale.is_visible() and scale.bounding_box()["x"] >= 0
        assert page.locator(".scale span").first.evaluate("s => s.scrollWidth <= s.clientWidth + 1")
    return {label: b["x"] for label, b in zip(labels, boxes)}


#: Where each slider and letter is on the page (page coordinates: scrolling moves nothing).
PAGE_BOXES = """labels => labels.flatMap(l => ['slider-' + l, 'play-' + l].map(id => {
  const r = document.getElementById(id).getBoundingClientRect();
  return [id, Math.round(10 * (r.left + scrollX)), Math.round(10 * (r.top + scrollY)),
          Math.round(10 * r.width), Math.round(10 * r.height)];
}))"""


def _in_view(page, labels: list[str]) -> None:
    """With the instructions folded and the page at the top, every letter and its whole
    slider are inside the viewport: nothing to scroll to rate."""
    if page.locator("#instructions").get_attribute("open") is not None:
        page.locator("#instructions summary").click()
    page.evaluate("window.scrollTo(0, 0)")
    height = page.viewport_size["height"]
    for label in labels:
        slider = page.locator(f"#slider-{label}").bounding_box()
        button = page.locator(f"#play-{label}").bounding_box()
        assert slider["y"] >= 0 and button["y"] + button["height"] <= height, (label, button)


def _rate(page, data: dict, phone: bool) -> list[float]:
    """Play every letter and rate it (first at 1.0, the others lower); the reference once.

    Nothing on the page moves when playback starts: the sliders and letters are where
    they were before the first letter played (the status line keeps its height).
    """
    labels = [c["label"] for c in data["conditions"]]
    before = page.evaluate(PAGE_BOXES, labels)
    for i, label in enumerate(labels):
        if phone:
            _tap(page, page.locator(f"#play-{label}"), phone)
        else:
            page.keyboard.press(KEYS[i])
        if i == 0:
            page.wait_for_function("document.getElementById('status').textContent === 'Playing'")
            assert page.evaluate("window.dmcTrial.player.playing") is True
            assert page.evaluate(PAGE_BOXES, labels) == before  # no slider under the finger moved
        slider = page.locator(f"#slider-{label}")
        assert slider.is_enabled()  # only the heard condition's slider moves
        if i > 0:
            assert page.locator(f"#slider-{labels[0]}").is_disabled()
            assert page.locator(f"#value-{labels[0]} .number").text_content() == "1.00"
        if phone or i == 1:  # a touch or a click a quarter up the slider
            slider.scroll_into_view_if_needed()
            box = slider.bounding_box()
            x, y = (
                box["x"] + box["width"] / 2,
                box["y"] + box["height"] * (0.02 if i == 0 else 0.75),
            )
            if phone:
                page.touchscreen.tap(x, y)
            else:
                page.mouse.click(x, y)
        else:
            page.keyboard.press("ArrowUp")  # first press sets an unset slider to 0.5
            for _ in range(10 if i == 0 else i):
                page.keyboard.press("ArrowUp" if i == 0 else "ArrowDown")
        if i == 0 and page.evaluate("window.dmcTrial.ratings")[label] < 1.0:
            page.locator(f"#slider-{label}").fill("1")  # a tap near the top may land at 0.98
    if phone:
        _tap(page, page.locator("#reference"), phone)
    else:
        page.keyboard.press("r")
    values = page.evaluate(f"{json.dumps(labels)}.map(l => window.dmcTrial.ratings[l])")
    assert values[0] == 1.0 and all(v is not None and 0 <= v <= 1 for v in values), values
    return values


def _headphone_check(page, token: str, right: bool, play_first: bool, name: str) -> None:
    page.wait_for_selector("body[data-ready='true']")
    _shot(page, f"headphones-{name}", "#headphones")
    key = correct_answers(answer_key(SECRET_KEY, token, 6))
    answers = key if right else [k % 3 + 1 for k in key]
    assert page.locator("input[name='answer-0']").first.is_disabled()  # play first
    if play_first:  # one example for real: it plays once, then its answers open
        page.locator("#hp-play-0").click()
        page.wait_for_selector(
            "input[name='answer-0']:not([disabled])", state="attached", timeout=15000
        )
        assert page.locator("#hp-play-0").is_disabled()
    # The rest without waiting 4.5 s each: open the answers as their playback would.
    page.evaluate("document.querySelectorAll('.hp-trial input').forEach(i => i.disabled = false)")
    for i, answer in enumerate(answers):
        page.locator(f"input[name='answer-{i}'][value='{answer}']").check(force=True)
    assert page.locator("#continue").is_enabled()
    page.locator("#continue").click()


def _run(browser, server, name: str) -> dict:
    phone = name == "phone"
    context = browser.new_context(**VIEWPORTS[name])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(20000)
    net = Network(page)
    started = time.monotonic()

    page.goto(f"{server.url}/?PROLIFIC_PID=e2e-{name}")
    page.locator("label.switch").click()
    page.locator("#start").click()
    token = page.url.rsplit("/", 1)[1]
    page.locator("#experience_years").fill("8")
    page.locator("#role").select_option("mixing_engineer")
    page.locator("#playback_device").select_option("closed_headphones")
    page.locator("#continue").click()

    # Volume: audio no trial of this rater plays, and a level that the trials start from.
    net.phase = 1
    page.wait_for_selector("body[data-ready='true']")
    (volume_response,) = [r for p, u, r in net.responses if u.startswith("/calibration-audio/")]
    volume_body = volume_response.body()
    page.locator("#volume-play").click()
    page.locator("#level").fill("-3")
    page.locator("label.switch").click()
    page.locator("#continue").click()

    net.phase = 2
    _headphone_check(page, token, right=not phone, play_first=not phone, name=name)

    etags: dict[str, str] = {}
    rated_urls: set[str] = set()
    submitted: dict[str, list[float]] = {}
    loop_trial = level_trial = None
    for number in range(8):
        net.phase = 3 + number
        page.wait_for_selector("body[data-ready='true']")
        data = json.loads(page.locator("#trial-data").text_content())
        training = number < 2
        assert data["is_training"] == training and data["position"] == number + 1
        position = page.locator("#trial-position").inner_text()
        expected = f"Practice page {number + 1} of 2" if training else f"Trial {number - 1} of 6"
        assert expected in position, position
        assert page.locator("#screened").count() == (1 if phone and number == 0 else 0)
        if data["reference_url"]:
            assert "original engineer's mix" in page.locator("#reference-text").text_content()
        urls = [c["url"] for c in data["conditions"]] + [data["reference_url"]]
        rated_urls.update(urls)
        if number in (1, 2):  # prefetched on the previous page: now from the browser cache
            # (only before the test routes requests, which turns Playwright's cache off)
            sizes = dict(page.evaluate(RESOURCES))
            assert all(sizes[unquote(url)] == 0 for url in urls), sizes
        _check_blinding(page, net, data, etags)
        assert all(volume_body != r.body() for u in urls for r in net.of(u)[-1:])
        if not phone and not training:
            _in_view(page, [c["label"] for c in data["conditions"]])

        help_text = page.locator("#status").inner_text()
        if phone:
            assert "tap" in help_text and "key" not in help_text
            assert page.locator("details.help.keys-only").is_hidden()
            assert page.locator(".column kbd").first.is_hidden()
        else:
            assert "number key" in help_text and page.locator("details.help.keys-only").is_visible()
        assert page.locator("#checks-box").is_hidden()  # nothing missing shown before trying
        xs_before = _check_layout(page, data, phone)

        if number == 2:  # the first scored trial: try to continue too early
            page.locator("#next").click()
            assert page.locator("#checks-box").is_visible()
            assert "Rate " in page.locator("#checks").inner_text()
        values = _rate(page, data, phone)
        if number == 2:
            _shot(page, f"trial-{name}", ".transport" if phone else None)
        assert _check_layout(page, data, phone) == xs_before  # no slider moved sideways
        assert page.locator("#lock-note").is_visible()

        # Pausing keeps the heard slider movable and the others readable.
        last = data["conditions"][-1]["label"]
        if phone:
            _tap(page, page.locator(f"#play-{last}"), phone)
            _tap(page, page.locator("#play"), phone)
        else:
            page.keyboard.press(KEYS[len(data["conditions"]) - 1])
            page.keyboard.press(" ")
        assert page.evaluate("window.dmcTrial.player.playing") is False
        assert page.locator(f"#slider-{last}").is_enabled()

        if number == 3:  # transport: play, loop edges at the playhead, stop
            loop_trial = data["trial_id"]
            _tap(page, page.locator("#play"), phone)
            deadline = time.monotonic() + 10
            while page.evaluate("window.dmcTrial.player.position()") < 0.05:
                assert time.monotonic() < deadline, "playback does not move"
                page.wait_for_timeout(20)
            _tap(page, page.locator("#play"), phone)  # pause
            assert page.evaluate("window.dmcTrial.player.playing") is False
            # A click (tap) on the waveform moves the playhead to 30 % of the passage.
            duration = page.evaluate("window.dmcTrial.player.duration")
            waveform = page.locator("#waveform")
            waveform.scroll_into_view_if_needed()
            box = waveform.bounding_box()
            x, y = box["x"] + 0.3 * box["width"], box["y"] + box["height"] / 2
            if phone:
                page.touchscreen.tap(x, y)
            else:
                page.mouse.click(x, y)
            playhead = page.evaluate("window.dmcTrial.player.position()")
            assert playhead == pytest.approx(0.3 * duration, abs=0.02)
            if phone:
                _tap(page, page.locator("#loop-start"), phone)
            else:
                page.keyboard.press("[")
            start = page.evaluate("window.dmcTrial.player.loopStart")
            assert start == pytest.approx(playhead) and start > 0.1
            assert page.locator("#loop-label").inner_text().startswith(f"Loop {start:.2f}")
            _tap(page, page.locator("#play"), phone)  # play on, then stop
            if phone:
                _tap(page, page.locator("#stop"), phone)
            else:
                page.keyboard.press("s")
            assert page.evaluate("window.dmcTrial.player.playing") is False
            assert page.evaluate("window.dmcTrial.player.position()") == pytest.approx(start)
            if not phone:  # drag the loop's start edge to 0.1 of the passage
                waveform.scroll_into_view_if_needed()
                box = waveform.bounding_box()
                y = box["y"] + box["height"] / 2
                page.mouse.move(box["x"] + box["width"] * start / duration + 1, y)
                page.mouse.down()
                page.mouse.move(box["x"] + 0.1 * box["width"], y, steps=4)
                page.mouse.up()
                assert page.evaluate("window.dmcTrial.player.loopStart") == pytest.approx(
                    0.1 * duration, abs=0.02
                )
                assert page.evaluate("window.dmcTrial.player.loopEnd") == pytest.approx(duration)
            assert page.evaluate("window.dmcTrial.state.loopUsed") is True

        if number == 4:  # the level control, recorded with the ratings
            level_trial = data["trial_id"]
            assert page.locator("#level").input_value() == "-3"  # from the volume page
            page.locator("#level").fill("-9")
            assert page.evaluate("window.dmcTrial.player.levelDb") == -9

        if number == 5 and not phone:  # time on trial: a hidden tab does not count
            page.evaluate(
                "Object.defineProperty(document, 'visibilityState', "
                "{value: 'hidden', configurable: true});"
                "document.dispatchEvent(new Event('visibilitychange'))"
            )
            hidden_at = page.evaluate("window.dmcTrial.elapsedMs()")
            page.wait_for_timeout(800)
            assert page.evaluate("window.dmcTrial.elapsedMs()") == pytest.approx(hidden_at)
            page.evaluate(
                "delete document.visibilityState;"
                "document.dispatchEvent(new Event('visibilitychange'))"
            )
            before = page.evaluate("window.dmcTrial.elapsedMs()")
            page.reload()  # a resume: ratings and time come back
            page.wait_for_selector("body[data-ready='true']")
            assert page.evaluate("window.dmcTrial.elapsedMs()") >= before
            restored = page.evaluate(
                f"{json.dumps([c['label'] for c in data['conditions']])}"
                ".map(l => window.dmcTrial.ratings[l])"
            )
            assert restored == values
            assert page.locator(f"#slider-{data['conditions'][0]['label']}").is_disabled()

        if number == 2:  # the server's refusal is shown where the rater looks
            page.route(
                _ends_with(data["submit_url"]),
                lambda route: route.fulfill(
                    status=422,
                    content_type="application/json",
                    body=json.dumps({"error": "rate at least one condition at the top"}),
                ),
                times=1,
            )
            page.locator("#next").click()
            page.wait_for_selector("#save-error:not([hidden])")
            assert "Not saved: rate at least one" in page.locator("#save-error").inner_text()
            assert page.locator("#next").is_enabled()  # the rater can try again
        if number == 6:  # make the next page's first file fail until the rater retries
            following = _ends_with(data["prefetch_urls"][0])
            page.route(following, lambda route: route.abort())
        if number == 7:
            assert page.locator("#load-error").is_hidden()
        submitted[data["trial_id"]] = values
        page.wait_for_selector("body[data-prefetched='true']")
        fetched = dict(page.evaluate(RESOURCES))  # what the page itself received
        assert all(unquote(url) in fetched for url in data["prefetch_urls"]), "no prefetch"
        with page.expect_navigation():
            page.locator("#next").click()
        if number == 6:
            page.wait_for_selector("#load-error:not([hidden])", timeout=20000)
            assert "did not load" in page.locator("#load-error").inner_text()
            page.unroute(following)
            page.locator("#load-retry").click()

    page.locator("#final-comment").fill("=cmd well done")
    page.locator("#finish").click()
    assert page.locator("#completion-code").text_content() == "DMC-2021"
    assert volume_response.url.split("/", 3)[3] not in {u.lstrip("/") for u in rated_urls}

    # A stale tab of the first scored trial cannot overwrite it now.
    first = next(t for t in submitted if not t.startswith("training:"))
    response = page.request.post(
        f"{server.url}/api/raters/{token}/trials/{first}",
        data={"ratings": {"A": 1.0}, "plays": {"A": 1}, "time_on_trial_ms": 1},
    )
    assert response.status == 409 and "cannot be changed" in response.json()["error"]
    assert errors == []
    context.close()
    return {
        "token": token,
        "submitted": submitted,
        "loop_trial": loop_trial,
        "level_trial": level_trial,
        "seconds": time.monotonic() - started,
    }


def test_the_strict_bs1534_test_on_two_laptops_and_a_phone(browser, bs1534_server):
    server = bs1534_server
    runs = {name: _run(browser, server, name) for name in VIEWPORTS}
    url = f"sqlite:///{server.instance / 'dmc-listening.sqlite'}"
    frame = ratings_frame(url)
    assert frame["rater_id"].nunique() == len(VIEWPORTS)
    by_rater = dict(iter(frame.groupby("rater_id")))
    for (name, run), (_, rows) in zip(runs.items(), sorted(by_rater.items())):
        assert set(rows["trial_id"]) == set(run["submitted"])
        scored = rows[~rows["is_training"]]
        training = rows[rows["is_training"]]
        # Training passages are never among the rater's scored passages.
        passages = lambda rows: set(zip(rows["task"], rows["passage_id"]))  # noqa: E731
        assert len(passages(training)) == 2 and len(passages(scored)) == 6
        assert not passages(training) & passages(scored)
        assert sorted(rows["trial_position"].unique()) == list(range(1, 9))
        assert set(rows["condition_label"]) <= set("ABCDEFG")
        assert (scored["reference_plays"] >= 1).all() and (rows["plays"] >= 1).all()
        assert (rows["slider_moves"] >= 1).all()
        assert rows.loc[rows["trial_id"] == run["loop_trial"], "loop_used"].all()
        assert not rows.loc[rows["trial_id"] == run["level_trial"], "loop_used"].any()
        assert (rows.loc[rows["trial_id"] == run["level_trial"], "level_db"] == -9).all()
        assert set(rows["headphone_check"]) == {"failed" if name == "phone" else "passed"}
        times = rows.groupby("trial_id")["time_on_trial_ms"].first()
        assert (times > 0).all() and times.sum() < 1000 * run["seconds"]
    # The analysis reads the same rows by URL, later columns included, and screens the
    # rater whose headphone check failed.
    analysed = read_database(url)
    assert {"condition_label", "headphone_check", "loop_used"} <= set(analysed.columns)
    report = screen(analysed).report.set_index("rater_id")
    assert report["headphones_excluded"].sum() == 1
