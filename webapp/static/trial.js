/* One trial page: condition buttons, vertical 0-1 sliders, checks, keyboard, saving.
 *
 * Sliders start unset (no thumb, no value) and only count once the rater moves them.
 * The page records the time on the page and how often each condition was played, and
 * sends everything in one JSON request; the server saves the trial in one
 * transaction. A failed network request is retried, and the unsaved ratings are kept
 * in localStorage, so neither a flaky connection nor a reload loses them.
 */
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("trial-data").textContent);
  const labels = data.conditions.map((c) => c.label);
  const hasReference = Boolean(data.reference_url);
  const refIndex = labels.length;
  const KEYS = "1234567890-=";
  const BANDS = ["Bad", "Poor", "Fair", "Good", "Excellent"];
  const storageKey = `dmc:${data.submit_url}`;
  const $ = (id) => document.getElementById(id);

  const ratings = Object.fromEntries(labels.map((l) => [l, null]));
  const plays = Object.fromEntries(labels.map((l) => [l, 0]));
  if (hasReference) plays.reference = 0;
  let player = null;
  let saving = false;

  const slider = (label) => $(`slider-${label}`);
  const playButtons = labels.map((l) => $(`play-${l}`));

  function band(value) { return BANDS[Math.min(4, Math.floor(value * 5))]; }

  function setRating(label, value, fromStorage) {
    value = Math.round(Math.min(1, Math.max(0, value)) * 100) / 100;
    ratings[label] = value;
    const s = slider(label);
    s.value = String(value);
    s.classList.remove("unset");
    $(`value-${label}`).textContent = `${value.toFixed(2)} ${band(value)}`;
    if (!fromStorage) remember();
    refresh();
  }

  function remember() {
    try {
      localStorage.setItem(storageKey, JSON.stringify({ ratings, comment: $("comment").value }));
    } catch (e) { /* private mode: nothing to keep */ }
  }

  function restore() {
    try {
      const saved = JSON.parse(localStorage.getItem(storageKey) || "null");
      if (!saved) return;
      for (const l of labels) if (typeof saved.ratings[l] === "number") setRating(l, saved.ratings[l], true);
      if (saved.comment) $("comment").value = saved.comment;
    } catch (e) { /* ignore a corrupt entry */ }
  }

  function problems() {
    const out = [];
    const unrated = labels.filter((l) => ratings[l] === null);
    if (unrated.length) out.push(`Rate ${unrated.join(", ")}.`);
    if (data.checks.play_all_before_rating) {
      const unplayed = labels.filter((l) => plays[l] < 1);
      if (unplayed.length) out.push(`Play ${unplayed.join(", ")} at least once.`);
    }
    if (data.checks.one_at_top && !labels.some((l) => ratings[l] !== null && ratings[l] >= 1)) {
      out.push("Rate at least one condition at the very top (1.00).");
    }
    return out;
  }

  function refresh() {
    const list = $("checks");
    list.replaceChildren(...problems().map((text) => {
      const li = document.createElement("li");
      li.textContent = text;
      return li;
    }));
    $("next").disabled = saving || !player || problems().length > 0;
    const onlyPlaying = data.checks.only_playing_slider_movable;
    labels.forEach((l, i) => {
      slider(l).disabled = !player || (onlyPlaying && !(player.playing && player.active === i));
    });
  }

  function activate(index) {
    playButtons.forEach((b, i) => b.classList.toggle("active", i === index));
    if (hasReference) $("reference").classList.toggle("active", index === refIndex);
    document.querySelectorAll(".column").forEach((c, i) => c.classList.toggle("active", i === index));
  }

  function playIndex(index) {
    if (!player) return;
    if (player.play(index)) {
      if (index === refIndex) plays.reference += 1; else plays[labels[index]] += 1;
    }
    refresh();
  }

  function nudge(delta) {
    if (!player || player.active < 0 || player.active >= labels.length) return;
    const label = labels[player.active];
    if (slider(label).disabled) return;
    setRating(label, ratings[label] === null ? 0.5 : ratings[label] + delta);
  }

  async function submit() {
    if (problems().length || saving) return;
    saving = true;
    refresh();
    const body = JSON.stringify({
      ratings,
      plays,
      time_on_trial_ms: Math.round(performance.now()),
      comment: $("comment").value,
    });
    for (let attempt = 0; ; attempt++) {
      $("save-status").textContent = attempt ? `Saving (attempt ${attempt + 1})…` : "Saving…";
      let response;
      try {
        response = await fetch(data.submit_url, {
          method: "POST", headers: { "Content-Type": "application/json" }, body, credentials: "same-origin",
        });
      } catch (e) {
        await new Promise((r) => setTimeout(r, Math.min(10000, 500 * 2 ** attempt)));
        continue;
      }
      if (response.ok) {
        try { localStorage.removeItem(storageKey); } catch (e) { /* nothing kept */ }
        if (player) player.pause();
        $("save-status").textContent = "Saved.";
        window.location.assign(data.next_url);
        return;
      }
      if (response.status >= 500 && attempt < 8) {
        await new Promise((r) => setTimeout(r, Math.min(10000, 500 * 2 ** attempt)));
        continue;
      }
      let message = `The server refused the ratings (${response.status}).`;
      try { message = (await response.json()).error || message; } catch (e) { /* not JSON */ }
      $("save-status").textContent = message;
      saving = false;
      refresh();
      return;
    }
  }

  function onKey(event) {
    if (event.target.tagName === "TEXTAREA" || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key;
    const digit = KEYS.indexOf(key);
    if (digit >= 0 && digit < labels.length) { playIndex(digit); event.preventDefault(); return; }
    if ((key === "r" || key === "R") && hasReference) { playIndex(refIndex); event.preventDefault(); return; }
    if (key === " ") {
      if (player) {
        if (player.playing) player.pause(); else playIndex(player.active >= 0 ? player.active : 0);
      }
      refresh();
      event.preventDefault();
      return;
    }
    if (key === "ArrowUp" || key === "ArrowDown") {
      nudge((key === "ArrowUp" ? 1 : -1) * (event.shiftKey ? 0.01 : 0.05));
      event.preventDefault();
      return;
    }
    if ((key === "ArrowLeft" || key === "ArrowRight") && player) {
      const n = labels.length;
      const current = player.active >= 0 && player.active < n ? player.active : 0;
      playIndex((current + (key === "ArrowRight" ? 1 : n - 1)) % n);
      event.preventDefault();
    }
  }

  function wireSliders() {
    for (const l of labels) {
      const s = slider(l);
      const take = () => setRating(l, parseFloat(s.value));
      s.addEventListener("input", take);
      s.addEventListener("change", take);
      s.addEventListener("pointerup", take);
      s.addEventListener("keydown", (e) => { if (e.key.startsWith("Arrow")) e.preventDefault(); });
    }
  }

  async function init() {
    player = new MultiPlayer();
    const urls = data.conditions.map((c) => c.url);
    if (hasReference) urls.push(data.reference_url);
    try {
      await player.load(urls, (n, total) => { $("status").textContent = `Loading audio ${n}/${total}…`; });
    } catch (error) {
      player = null;
      $("status").textContent = `The audio could not be loaded (${error.message}). Reload the page to try again.`;
      return;
    }
    player.on("activate", activate);
    player.on("state", (playing) => {
      $("status").textContent = playing ? "Playing" : "Paused";
      $("play").classList.toggle("active", playing);
      refresh();
    });
    const loopLabel = (a, b) => { $("loop-label").textContent = `Loop ${a.toFixed(2)}–${b.toFixed(2)} s`; };
    new WaveformView($("waveform"), player, loopLabel);
    loopLabel(0, player.duration);
    $("status").textContent = "Ready: press a letter or its number key.";
    for (const b of playButtons) {
      b.addEventListener("click", () => { b.blur(); playIndex(Number(b.dataset.index)); });
    }
    playButtons.forEach((b) => { b.disabled = false; });
    if (hasReference) {
      $("reference").disabled = false;
      $("reference").addEventListener("click", () => { $("reference").blur(); playIndex(refIndex); });
    }
    $("play").disabled = false;
    $("play").addEventListener("click", () => {
      $("play").blur();
      if (player.playing) player.pause(); else playIndex(player.active >= 0 ? player.active : 0);
      refresh();
    });
    $("loop-reset").disabled = false;
    $("loop-reset").addEventListener("click", () => loopLabel(...player.setLoop(0, player.duration)));
    window.dmcTrial = { player, ratings, plays };  // for the browser tests and debugging
    document.body.dataset.ready = "true";
    refresh();
  }

  wireSliders();
  restore();
  $("comment").addEventListener("input", remember);
  $("next").addEventListener("click", submit);
  document.addEventListener("keydown", onKey);
  refresh();
  init();
})();
