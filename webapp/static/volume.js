/* Volume page: loop audio the rater will never rate, so they can set a comfortable level.
 *
 * The in-page level (dB) is kept in localStorage for the trial pages of this link and
 * sent with the form, so the rater's starting level is recorded.
 */
"use strict";

(function () {
  const button = document.getElementById("volume-play");
  const status = document.getElementById("volume-status");
  const level = document.getElementById("level");
  const levelKey = `dmc:level:${window.location.pathname}`;
  const player = new MultiPlayer();

  function setLevel(db) {
    level.value = String(db);
    player.setLevel(db);
    document.getElementById("level-value").textContent = `${db} dB`;
    document.getElementById("level-db").value = String(db);
    try { localStorage.setItem(levelKey, String(db)); } catch (e) { /* private mode */ }
  }

  async function load(first) {
    document.getElementById("volume-error").hidden = true;
    status.textContent = "Loading audio…";
    try {
      if (first) await player.load([button.dataset.url]); else await player.retry();
    } catch (error) {
      document.getElementById("volume-error-text").textContent =
        `The example did not load (${error.message}). Check your connection and try again.`;
      document.getElementById("volume-error").hidden = false;
      status.textContent = "";
      return;
    }
    button.disabled = false;
    level.disabled = false;
    status.textContent = "Ready";
    document.body.dataset.ready = "true";
  }

  let stored = NaN;
  try { stored = parseFloat(localStorage.getItem(levelKey)); } catch (e) { /* none */ }
  setLevel(Number.isFinite(stored) ? Math.max(-30, Math.min(0, Math.round(stored))) : 0);
  level.addEventListener("input", () => setLevel(parseInt(level.value, 10)));
  document.getElementById("volume-retry").addEventListener("click", () => load(false));
  button.addEventListener("click", () => {
    const playing = player.toggle(0);
    button.textContent = playing ? "Stop" : "Play example";
    status.textContent = playing ? "Playing" : "Stopped";
  });
  load(true);
})();
