/* Headphone check: each example plays once (three tones), then its answer can be chosen.
 *
 * The examples are fetched up front (with retries) so that no example waits for the
 * network; playback goes through the level the rater set on the volume page. The page
 * never knows the answers: the server scores the form.
 */
"use strict";

(function () {
  const trials = Array.from(document.querySelectorAll(".hp-trial"));
  const levelKey = `dmc:level:${window.location.pathname}`;
  const player = new MultiPlayer();
  let stored = NaN;
  try { stored = parseFloat(localStorage.getItem(levelKey)); } catch (e) { /* none */ }
  player.setLevel(Number.isFinite(stored) ? Math.max(-30, Math.min(0, stored)) : 0);
  let busy = false;

  function progress(done, total) {
    document.getElementById("load-progress").value = done;
    document.getElementById("load-text").textContent = `Loading audio: ${done} of ${total} files`;
  }

  function updateContinue() {
    const answered = trials.every((t) => t.querySelector("input:checked"));
    document.getElementById("continue").disabled = !answered;
  }

  function playOnce(index) {
    if (busy) return;
    busy = true;
    const ctx = player.ctx;
    if (ctx.state === "suspended") ctx.resume();
    const source = ctx.createBufferSource();
    source.buffer = player.buffers[index];
    source.connect(player.output);
    const button = trials[index].querySelector(".hp-play");
    button.disabled = true;
    button.textContent = "Playing…";
    source.onended = () => {
      busy = false;
      button.textContent = "Played";
      trials[index].querySelectorAll("input").forEach((input) => { input.disabled = false; });
      trials.forEach((t, i) => {
        const next = t.querySelector(".hp-play");
        if (next.textContent.startsWith("Play example")) next.disabled = false;
        if (i === index) t.querySelector("input").focus();
      });
    };
    trials.forEach((t) => { t.querySelector(".hp-play").disabled = true; });
    source.start();
  }

  async function load(first) {
    document.getElementById("load-error").hidden = true;
    try {
      const urls = trials.map((t) => t.dataset.url);
      if (first) await player.load(urls, progress); else await player.retry(progress);
    } catch (error) {
      document.getElementById("load-error-text").textContent =
        `The examples did not load (${error.message}). Check your connection and try again.`;
      document.getElementById("load-error").hidden = false;
      return;
    }
    document.getElementById("load").hidden = true;
    trials.forEach((t, i) => {
      const button = t.querySelector(".hp-play");
      button.disabled = false;
      button.addEventListener("click", () => playOnce(i));
    });
    document.body.dataset.ready = "true";
  }

  document.getElementById("headphone-form").addEventListener("change", updateContinue);
  document.getElementById("load-retry").addEventListener("click", () => load(false));
  load(true);
})();
