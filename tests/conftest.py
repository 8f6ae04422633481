"""Fixtures shared by every test folder: seeded audio that sounds like music, not silence;
Debian's Chromium for the browser tests."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch

SAMPLE_RATE = 44100

# Compiling the TCN's fused kernels costs seconds per new shape; tests run them eagerly
# (same numbers) except where a test switches compiling on to check it.
os.environ.setdefault("DMC_COMPILE", "0")


@pytest.fixture(scope="session")
def demo_cache_dir(tmp_path_factory):
    """One demo cache for the session: the demo tests and the README's commands share its songs."""
    return tmp_path_factory.mktemp("demo-cache")


@pytest.fixture(autouse=True)
def _seed_everything():
    np.random.seed(0)
    torch.manual_seed(0)
    yield


def drum_like(
    seconds: float, sample_rate: int = SAMPLE_RATE, seed: int = 0, bpm: float = 120.0
) -> np.ndarray:
    """Decaying noise bursts and a pitched thump on a beat grid, ``(samples,)`` float32."""
    rng = np.random.default_rng(seed)
    n = int(seconds * sample_rate)
    out = np.zeros(n, dtype=np.float32)
    beat = int(60.0 / bpm * sample_rate / 2)
    t = np.arange(int(0.25 * sample_rate)) / sample_rate
    hit = np.sin(2 * np.pi * 60 * t) * np.exp(-t * 18) + 0.3 * rng.standard_normal(t.size) * np.exp(
        -t * 40
    )
    for start in range(0, n - hit.size, beat):
        out[start : start + hit.size] += hit * rng.uniform(0.4, 1.0)
    return 0.3 * out / np.max(np.abs(out))


@pytest.fixture
def music_stereo() -> np.ndarray:
    """10 s of a drum-like left channel and a chord-like right channel, ``(2, samples)``."""
    n = 10 * SAMPLE_RATE
    t = np.arange(n) / SAMPLE_RATE
    chord = sum(np.sin(2 * np.pi * f * t) for f in (220.0, 277.2, 329.6)) / 3
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 0.5 * t) ** 2
    return np.stack([drum_like(10.0), 0.2 * chord * envelope]).astype(np.float32)


@pytest.fixture
def make_drums():
    """The :func:`drum_like` generator, for tests that need several seeded signals."""
    return drum_like


#: Debian's Chromium, which playwright drives (never ``playwright install``).
CHROMIUM = Path("/usr/bin/chromium")
#: Headless, no sandbox (containers), no network chatter.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--headless=new",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


@pytest.fixture(scope="module")
def chromium():
    """A function that launches Chromium (with extra command-line switches, if any).

    Skips without playwright or Chromium locally; fails in CI (``CI`` set), where both are
    installed and the browser tests must run. Browsers it launched close with the module.
    """
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
        yield lambda *extra_args: playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=[*CHROMIUM_ARGS, *extra_args]
        )
