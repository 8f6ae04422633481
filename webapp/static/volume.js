/* Volume page: loop one example so the rater can set a comfortable playback level. */
"use strict";

(function () {
  const button = document.getElementById("volume-play");
  const status = document.getElementById("volume-status");
  const player = new MultiPlayer();
  player.load([button.dataset.url]).then(() => {
    button.disabled = false;
    status.textContent = "Ready";
    document.body.dataset.ready = "true";
  }).catch((error) => {
    status.textContent = `The audio could not be loaded (${error.message}). Reload the page to try again.`;
  });
  button.addEventListener("click", () => {
    const playing = player.toggle(0);
    button.textContent = playing ? "Stop" : "Play example";
    status.textContent = playing ? "Playing" : "Stopped";
  });
})();
