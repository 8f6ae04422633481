/* One trial page: condition buttons, vertical sliders, checks, keyboard, saving.
 *
 * The sliders are on the test's rating scale (data.scale: range, step, decimals, band
 * labels bottom up, where "the top" starts), as the server sends it; ratings are sent
 * on that scale and the server stores them normalised to 0-1.
 * Sliders start unset (no thumb, no value) and only count once the rater moves them.
 * The page records what the analysis needs besides the ratings: the time on the trial
 * (from the moment the audio is ready, without the time the tab is hidden, added up
 * over reloads and resumed links), plays per condition and of the reference, slider
 * moves per condition, whether a loop was used, and the level at saving. Everything is
 * sent in one JSON request; the server saves the trial in one transaction. A failed
 * request is retried, and the unsaved state is kept in localStorage, so neither a flaky
 * connection nor a reload loses anything. The next trial's audio is fetched into the
 * browser cache while the rater works on this one.
 */
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("trial-data").textContent);
  const labels = data.conditions.map((c) => c.label);
  const hasReference = Boolean(data.reference_url);
  const refIndex = labels.length;
  const KEYS = "1234567890-=";
  const SCALE = data.scale;
  const BANDS = SCALE.bands;
  const SPAN = SCALE.max - SCALE.min;
  const MIDDLE = SCALE.min + Math.round(SPAN / SCALE.step / 2) * SCALE.step;
  const storageKey = `dmc:${data.submit_url}`;
  const levelKey = `dmc:level:${data.next_url}`;
  const onlyPlaying = Boolean(data.checks.only_playing_slider_movable);
  const touch = window.matchMedia("(hover: none) and (pointer: coarse)").matches;
  const $ = (id) => document.getElementById(id);

  const ratings = Object.fromEntries(labels.map((l) => [l, null]));
  const plays = Object.fromEntries(labels.map((l) => [l, 0]));
  const moves = Object.fromEntries(labels.map((l) => [l, 0]));
  if (hasReference) plays.reference = 0;
  const state = { loopUsed: false, elapsedMs: 0, since: null, lastHeard: -1, triedToSave: false };
  let player = null;  // set once every file is in: nothing plays or moves before
  let loader = null;
  let saving = false;

  const slider = (label) => $(`slider-${label}`);
  const playButtons = labels.map((l) => $(`play-${l}`));

  function band(value) {
    if (!BANDS.length) return "";
    return BANDS[Math.min(BANDS.length - 1, Math.floor(((value - SCALE.min) / SPAN) * BANDS.length))];
  }
  /* The nearest slider position: min + a whole number of steps, as the decimals show it. */
  function onScale(value) {
    const clamped = Math.min(SCALE.max, Math.max(SCALE.min, value));
    const steps = Math.round((clamped - SCALE.min) / SCALE.step);
    return Number((SCALE.min + steps * SCALE.step).toFixed(SCALE.decimals));
  }
  function atTop(value) { return value !== null && value >= SCALE.top - 1e-9 * SPAN; }

  /* ------------------------------------------------------------ time on trial */

  function clockRunning() { return state.since !== null; }
  function startClock() {
    if (player && !clockRunning() && document.visibilityState === "visible") state.since = performance.now();
  }
  function stopClock() {
    if (clockRunning()) { state.elapsedMs += performance.now() - state.since; state.since = null; }
  }
  function elapsedMs() { return state.elapsedMs + (clockRunning() ? performance.now() - state.since : 0); }

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") startClock(); else { stopClock(); remember(); }
  });
  window.addEventListener("pagehide", () => { stopClock(); remember(); });

  /* ------------------------------------------------------------ ratings and storage */

  function setRating(label, value, fromStorage) {
    value = onScale(value);
    const changed = ratings[label] !== value;
    ratings[label] = value;
    const s = slider(label);
    s.value = String(value);
    s.classList.remove("unset");
    const out = $(`value-${label}`);
    out.querySelector(".number").textContent = value.toFixed(SCALE.decimals);
    out.querySelector(".band").textContent = band(value);
    if (!fromStorage && changed) { moves[label] += 1; remember(); }
    refresh();
  }

  function remember() {
    try {
      localStorage.setItem(storageKey, JSON.stringify({
        ratings, plays, moves, comment: $("comment").value, elapsed_ms: Math.round(elapsedMs()),
        loop_used: state.loopUsed,
      }));
    } catch (e) { /* private mode: nothing to keep */ }
  }

  function restore() {
    try {
      const saved = JSON.parse(localStorage.getItem(storageKey) || "null");
      if (!saved) return;
      for (const l of labels) if (typeof saved.ratings[l] === "number") setRating(l, saved.ratings[l], true);
      for (const [table, from] of [[plays, saved.plays], [moves, saved.moves]]) {
        for (const key of Object.keys(table)) if (from && Number.isInteger(from[key])) table[key] = from[key];
      }
      if (saved.comment) $("comment").value = saved.comment;
      if (Number.isFinite(saved.elapsed_ms)) state.elapsedMs = saved.elapsed_ms;
      state.loopUsed = Boolean(saved.loop_used);
    } catch (e) { /* ignore a corrupt entry */ }
  }

  /* ------------------------------------------------------------ checks and state */

  function problems() {
    const out = [];
    const unrated = labels.filter((l) => ratings[l] === null);
    if (unrated.length) out.push(`Rate ${unrated.join(", ")}.`);
    if (data.checks.play_all_before_rating) {
      const unplayed = labels.filter((l) => plays[l] < 1);
      if (unplayed.length) out.push(`Play ${unplayed.join(", ")} at least once.`);
    }
    if (data.checks.one_at_top && !labels.some((l) => atTop(ratings[l]))) {
      out.push(`Rate at least one version at the very top (${SCALE.top.toFixed(SCALE.decimals)}).`);
    }
    return out;
  }

  function movable(index) {
    if (!player) return false;
    return !onlyPlaying || index === state.lastHeard;
  }

  function refresh() {
    const list = problems();
    if (state.triedToSave) {  // the list appears only once the rater tried to continue
      $("checks").replaceChildren(...list.map((text) => {
        const li = document.createElement("li");
        li.textContent = text;
        return li;
      }));
      $("checks-box").hidden = list.length === 0;
    }
    $("next").disabled = saving || !player;
    labels.forEach((l, i) => {
      const s = slider(l);
      s.disabled = !movable(i);
      s.closest(".column").classList.toggle("locked", Boolean(player) && !movable(i));
      s.title = s.disabled && player ? "Play this letter to move its slider" : "";
    });
  }

  function activate(index) {
    if (index >= 0 && index < labels.length) state.lastHeard = index;
    playButtons.forEach((b, i) => b.classList.toggle("active", i === index));
    if (hasReference) $("reference").classList.toggle("active", index === refIndex);
    document.querySelectorAll(".column").forEach((c, i) => c.classList.toggle("active", i === index));
    refresh();
  }

  function playIndex(index) {
    if (!player) return;
    if (player.play(index)) {
      if (index === refIndex) plays.reference += 1; else plays[labels[index]] += 1;
      remember();
    }
    refresh();
  }

  function togglePlay() {
    if (!player) return;
    if (player.playing) player.pause(); else playIndex(player.active >= 0 ? player.active : 0);
    refresh();
  }

  function nudge(delta) {
    if (!player || player.active < 0 || player.active >= labels.length) return;
    const label = labels[player.active];
    if (slider(label).disabled) return;
    setRating(label, ratings[label] === null ? MIDDLE : ratings[label] + delta);
  }

  function showLoop(start, end) {
    $("loop-label").textContent = `Loop ${start.toFixed(2)}–${end.toFixed(2)} s`;
    if (player && !player.wholeLoop) { state.loopUsed = true; remember(); }
  }

  /* ------------------------------------------------------------ saving */

  function showSaveError(message) {
    const box = $("save-error");
    box.textContent = message;
    box.hidden = !message;
    if (message) box.scrollIntoView({ block: "center", behavior: "smooth" });
  }

  async function submit() {
    if (saving || !player) return;
    state.triedToSave = true;
    refresh();
    if (problems().length) {
      $("checks-box").scrollIntoView({ block: "center", behavior: "smooth" });
      return;
    }
    saving = true;
    showSaveError("");
    refresh();
    const payload = {
      ratings,
      plays,
      time_on_trial_ms: Math.round(elapsedMs()),
      comment: $("comment").value,
      loop_used: state.loopUsed,
      slider_moves: moves,
      level_db: player.levelDb,
    };
    const body = JSON.stringify(payload);
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
        stopClock();
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
      $("save-status").textContent = "";
      showSaveError(`Not saved: ${message}`);
      saving = false;
      refresh();
      return;
    }
  }

  /* ------------------------------------------------------------ keyboard */

  function onKey(event) {
    const tag = event.target.tagName;
    if (tag === "TEXTAREA" || (tag === "INPUT" && event.target.id === "level")) return;
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key;
    const digit = KEYS.indexOf(key);
    if (digit >= 0 && digit < labels.length) { playIndex(digit); event.preventDefault(); return; }
    if ((key === "r" || key === "R") && hasReference) { playIndex(refIndex); event.preventDefault(); return; }
    if (!player) return;
    const actions = {
      " ": togglePlay,
      s: () => player.stop(),
      S: () => player.stop(),
      "[": () => showLoop(...player.setLoopStart(player.position())),
      "]": () => showLoop(...player.setLoopEnd(player.position())),
      "\\": () => showLoop(...player.setLoop(0, player.duration)),
    };
    if (actions[key]) { actions[key](); refresh(); event.preventDefault(); return; }
    if (key === "ArrowUp" || key === "ArrowDown") {
      nudge((key === "ArrowUp" ? 1 : -1) * (event.shiftKey ? 1 : 5) * SCALE.step);
      event.preventDefault();
      return;
    }
    if (key === "ArrowLeft" || key === "ArrowRight") {
      const n = labels.length;
      const current = player.active >= 0 && player.active < n ? player.active : 0;
      playIndex((current + (key === "ArrowRight" ? 1 : n - 1)) % n);
      event.preventDefault();
    }
  }

  /* ------------------------------------------------------------ layout */

  /* Columns of equal width that never move; on a narrow screen more than eight
   * conditions wrap into two rows, each with its own band labels. */
  function layout() {
    const area = $("rating-area");
    const n = labels.length;
    const narrow = window.matchMedia("(max-width: 640px)").matches;
    const wrap = narrow && n > 8;
    area.classList.toggle("wrapped", wrap);
    area.style.setProperty("--per-row", String(wrap ? Math.ceil(n / 2) : n));
  }

  function wireSliders() {
    for (const l of labels) {
      const s = slider(l);
      s.addEventListener("input", () => setRating(l, parseFloat(s.value)));
      s.addEventListener("keydown", (e) => { if (e.key.startsWith("Arrow")) e.preventDefault(); });
    }
  }

  function prefetch() {
    // Fill the HTTP cache with the next trial's audio once this trial's audio is in, two
    // files at a time: the next page then starts without waiting for the network.
    const queue = (data.prefetch_urls || []).slice();
    const worker = async () => {
      while (queue.length) {
        const url = queue.shift();
        try { await (await fetch(url, { credentials: "same-origin" })).arrayBuffer(); } catch (e) { /* next page loads it */ }
      }
    };
    Promise.all([worker(), worker()]).then(() => { document.body.dataset.prefetched = "true"; });
  }

  function loadingProgress(done, total) {
    $("load-progress").max = total;
    $("load-progress").value = done;
    $("load-text").textContent = `Loading audio: ${done} of ${total} files`;
  }

  async function loadAudio(first) {
    $("load-error").hidden = true;
    $("load").hidden = false;
    try {
      if (first) await loader.load(urls(), loadingProgress); else await loader.retry(loadingProgress);
    } catch (error) {
      const names = error.failed.map((i) => (i === refIndex ? "Reference" : labels[i])).join(", ");
      $("load-error-text").textContent = `Some audio did not load (${names}): ${error.message}. Check your connection and try again.`;
      $("load-error").hidden = false;
      return false;
    }
    $("load").hidden = true;
    return true;
  }

  function urls() {
    const out = data.conditions.map((c) => c.url);
    if (hasReference) out.push(data.reference_url);
    return out;
  }

  function ready() {
    player.on("activate", activate);
    player.on("state", (playing) => {
      $("status").textContent = playing ? "Playing" : "Paused";
      $("play").classList.toggle("active", playing);
      refresh();
    });
    new WaveformView($("waveform"), player, showLoop);
    const duration = player.duration.toFixed(1);
    const tick = () => {
      // Padded with figure spaces to the duration's digits: the clock keeps its width
      // when the playhead passes 9.9 s, so the transport row never re-wraps.
      const at = player.position().toFixed(1).padStart(duration.length, "\u2007");
      $("clock").textContent = `${at} / ${duration} s`;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    $("status").textContent = touch
      ? "Ready: tap a letter to hear it, then drag its slider."
      : "Ready: click a letter or press its number key (1, 2, …) to hear it.";
    for (const b of playButtons) {
      b.addEventListener("click", () => { b.blur(); playIndex(Number(b.dataset.index)); });
      b.disabled = false;
    }
    if (hasReference) {
      $("reference").disabled = false;
      $("reference").addEventListener("click", () => { $("reference").blur(); playIndex(refIndex); });
    }
    const click = (id, fn) => {
      $(id).disabled = false;
      $(id).addEventListener("click", () => { $(id).blur(); fn(); refresh(); });
    };
    click("play", togglePlay);
    click("stop", () => player.stop());
    click("loop-start", () => showLoop(...player.setLoopStart(player.position())));
    click("loop-end", () => showLoop(...player.setLoopEnd(player.position())));
    click("loop-reset", () => showLoop(...player.setLoop(0, player.duration)));
    const level = $("level");
    let stored = NaN;
    try { stored = parseFloat(localStorage.getItem(levelKey)); } catch (e) { /* none */ }
    const initial = Number.isFinite(stored) ? stored : (data.level_db || 0);
    const setLevel = (db) => {
      level.value = String(db);
      player.setLevel(db);
      $("level-value").textContent = `${db} dB`;
      try { localStorage.setItem(levelKey, String(db)); } catch (e) { /* none */ }
    };
    setLevel(Math.max(-30, Math.min(0, Math.round(initial))));
    level.disabled = false;
    level.addEventListener("input", () => setLevel(parseInt(level.value, 10)));
    window.dmcTrial = { player, ratings, plays, moves, state, elapsedMs };  // for tests and debugging
    document.body.dataset.ready = "true";
    startClock();
    setInterval(remember, 5000);  // a crash or a killed tab loses at most a few seconds
    refresh();
    prefetch();
  }

  async function init() {
    loader = new MultiPlayer();
    $("load-retry").addEventListener("click", async () => {
      $("load-retry").disabled = true;
      const loaded = await loadAudio(false);
      $("load-retry").disabled = false;
      if (loaded) { player = loader; ready(); }
    });
    if (await loadAudio(true)) { player = loader; ready(); }
  }

  layout();
  window.matchMedia("(max-width: 640px)").addEventListener("change", layout);
  wireSliders();
  restore();
  $("comment").addEventListener("input", remember);
  $("next").addEventListener("click", submit);
  document.addEventListener("keydown", onKey);
  refresh();
  init();
})();
