/* Multi-stimulus player on the Web Audio API (ITU-R BS.1534-3 playback rules).
 *
 * All conditions of a trial are decoded up front and, while playing, run at once in
 * sample lock: every condition is an AudioBufferSourceNode started at the same
 * context time, each behind its own gain. Switching only moves gains, so the new
 * condition continues at exactly the same sample position. A switch fades the old
 * condition out over 5 ms and then the new one in over 5 ms (raised cosine, no
 * cross-fade). Looping is the source nodes' own seamless loop; a 5 ms dip is
 * scheduled on the master gain around each loop point. The loop region (at least
 * 0.5 s) can be set on a waveform drawn from all conditions together, so the picture
 * says nothing about any single condition; its edges can be dragged or set at the
 * playhead. Everything goes through one output gain, the in-page level control.
 *
 * Loading fetches every file with retries (a few attempts with growing pauses); files
 * that still fail are listed, and `retry()` loads only those again.
 */
"use strict";

const FADE_S = 0.005;
const MIN_LOOP_S = 0.5;
const LOOKAHEAD_S = 0.02;
const LOAD_ATTEMPTS = 3;
const EDGE_GRAB_PX = 10;

function sleep(ms) { return new Promise((resolve) => setTimeout(resolve, ms)); }

/* Fetch and decode one file, trying again after a failure (network, server, decoding). */
async function fetchAudio(ctx, url, attempts = LOAD_ATTEMPTS) {
  let last = null;
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (attempt) await sleep(400 * 2 ** attempt);
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) throw new Error(`the server answered ${response.status}`);
      return await ctx.decodeAudioData(await response.arrayBuffer());
    } catch (error) {
      last = error;
    }
  }
  throw last;
}

function raisedCosine(rising, points = 64) {
  const curve = new Float32Array(points);
  for (let i = 0; i < points; i++) {
    const x = 0.5 - 0.5 * Math.cos((Math.PI * i) / (points - 1));
    curve[i] = rising ? x : 1 - x;
  }
  return curve;
}

function dipCurve(points = 128) {
  const curve = new Float32Array(points);
  const half = points / 2;
  for (let i = 0; i < points; i++) {
    const x = i < half ? i / (half - 1) : (points - 1 - i) / (half - 1);
    curve[i] = 0.5 + 0.5 * Math.cos(Math.PI * Math.min(1, x));
  }
  return curve;
}

class MultiPlayer {
  constructor(context) {
    this.ctx = context || new (window.AudioContext || window.webkitAudioContext)();
    this.output = this.ctx.createGain();
    this.output.connect(this.ctx.destination);
    this.levelDb = 0;
    this.urls = [];
    this.failed = [];
    this.buffers = [];
    this.duration = 0;
    this.loopStart = 0;
    this.loopEnd = 0;
    this.playing = false;
    this.active = -1;
    this.pausedAt = 0;
    this.session = null;
    this.listeners = { activate: [], state: [] };
    this.timer = null;
  }

  on(name, fn) { this.listeners[name].push(fn); }
  emit(name, ...args) { for (const fn of this.listeners[name]) fn(...args); }

  /* Load every URL; resolves when all are decoded, rejects listing the files that failed
   * (`this.failed`, their indices) after every attempt. `onProgress(done, total)`. */
  async load(urls, onProgress) {
    this.urls = urls;
    this.buffers = new Array(urls.length).fill(null);
    return this.loadMissing(onProgress);
  }

  async retry(onProgress) { return this.loadMissing(onProgress); }

  async loadMissing(onProgress) {
    const report = () => {
      if (onProgress) onProgress(this.buffers.filter(Boolean).length, this.urls.length);
    };
    report();
    const errors = [];
    await Promise.all(this.urls.map(async (url, i) => {
      if (this.buffers[i]) return;
      try {
        this.buffers[i] = await fetchAudio(this.ctx, url);
        report();
      } catch (error) {
        errors.push(error);
      }
    }));
    this.failed = this.buffers.map((b, i) => (b ? -1 : i)).filter((i) => i >= 0);
    if (this.failed.length) {
      const error = new Error(`${this.failed.length} of ${this.urls.length} audio files could not be loaded (${errors[0].message})`);
      error.failed = this.failed.slice();
      throw error;
    }
    this.duration = Math.min(...this.buffers.map((b) => b.duration));
    this.loopStart = 0;
    this.loopEnd = this.duration;
  }

  /* The in-page level control: decibels relative to the level set on the volume page. */
  setLevel(db) {
    this.levelDb = db;
    const gain = 10 ** (db / 20);
    this.output.gain.setTargetAtTime(gain, this.ctx.currentTime, 0.02);
  }

  get wholeLoop() { return this.loopStart <= 1e-6 && this.loopEnd >= this.duration - 1e-6; }

  get period() { return this.loopEnd - this.loopStart; }

  position() {
    if (!this.playing) return this.pausedAt;
    const s = this.session;
    const elapsed = this.ctx.currentTime - s.anchor;
    if (elapsed < 0) return this.loopStart + Math.max(0, s.offset - this.loopStart);
    return this.loopStart + (elapsed % this.period);
  }

  /* Start or switch to condition `index`. Returns true when it became audible anew. */
  play(index) {
    if (this.ctx.state === "suspended") this.ctx.resume();
    if (!this.playing) {
      this.start(index, this.pausedAt);
      return true;
    }
    if (index === this.active) return false;
    this.switchTo(index);
    return true;
  }

  start(index, offset) {
    const ctx = this.ctx;
    if (offset < this.loopStart || offset >= this.loopEnd - 0.01) offset = this.loopStart;
    const master = ctx.createGain();
    master.connect(this.output);
    const when = ctx.currentTime + LOOKAHEAD_S;
    const gains = [];
    const sources = [];
    this.buffers.forEach((buffer, i) => {
      const gain = ctx.createGain();
      gain.gain.value = 0;
      gain.connect(master);
      const source = ctx.createBufferSource();
      source.buffer = buffer;
      source.loop = true;
      source.loopStart = this.loopStart;
      source.loopEnd = this.loopEnd;
      source.connect(gain);
      source.start(when, offset);
      gains.push(gain);
      sources.push(source);
    });
    gains[index].gain.setValueCurveAtTime(raisedCosine(true), when, FADE_S);
    this.session = { master, gains, sources, when, offset, anchor: when - (offset - this.loopStart),
                     busyUntil: when + FADE_S, lastDip: 0 };
    this.playing = true;
    this.active = index;
    this.timer = setInterval(() => this.scheduleLoopFades(), 25);
    this.emit("activate", index);
    this.emit("state", true);
  }

  switchTo(index) {
    const s = this.session;
    const t = Math.max(this.ctx.currentTime + LOOKAHEAD_S, s.busyUntil);
    s.gains[this.active].gain.setValueCurveAtTime(raisedCosine(false), t, FADE_S);
    s.gains[index].gain.setValueCurveAtTime(raisedCosine(true), t + FADE_S, FADE_S);
    s.busyUntil = t + 2 * FADE_S;
    this.active = index;
    this.emit("activate", index);
  }

  scheduleLoopFades() {
    const s = this.session;
    if (!s) return;
    const now = this.ctx.currentTime;
    const k = Math.max(1, Math.ceil((now - s.anchor) / this.period));
    const wrap = s.anchor + k * this.period;
    if (wrap - FADE_S > now + 0.005 && wrap - now < 0.25 && wrap > s.lastDip + 1e-3) {
      s.master.gain.setValueCurveAtTime(dipCurve(), wrap - FADE_S, 2 * FADE_S);
      s.lastDip = wrap;
    }
  }

  pause() {
    if (!this.playing) return;
    const s = this.session;
    const t = Math.max(this.ctx.currentTime + LOOKAHEAD_S, s.busyUntil);
    s.gains[this.active].gain.setValueCurveAtTime(raisedCosine(false), t, FADE_S);
    const stopAt = t + FADE_S;
    this.pausedAt = this.loopStart + ((stopAt - s.anchor) % this.period);
    for (const source of s.sources) source.stop(stopAt + 0.001);
    const master = s.master;
    setTimeout(() => master.disconnect(), 200);
    clearInterval(this.timer);
    this.session = null;
    this.playing = false;
    this.emit("state", false);
  }

  /* Stop: silence, and go back to the start of the loop. */
  stop() {
    this.pause();
    this.pausedAt = this.loopStart;
    this.emit("state", false);
  }

  toggle(index) {
    if (this.playing) { this.pause(); return false; }
    return this.play(index >= 0 ? index : 0);
  }

  /* Jump to `seconds` (inside the loop), keeping the active condition. */
  seek(seconds) {
    const index = this.active >= 0 ? this.active : 0;
    const target = Math.min(Math.max(seconds, this.loopStart), this.loopEnd - 0.01);
    if (this.playing) { this.pause(); this.start(index, target); } else { this.pausedAt = target; }
  }

  setLoop(startS, endS) {
    let start = Math.max(0, Math.min(startS, endS));
    let end = Math.min(this.duration, Math.max(startS, endS));
    if (end - start < MIN_LOOP_S) {
      const middle = (start + end) / 2;
      start = Math.max(0, Math.min(middle - MIN_LOOP_S / 2, this.duration - MIN_LOOP_S));
      end = start + MIN_LOOP_S;
    }
    const wasPlaying = this.playing;
    const index = this.active >= 0 ? this.active : 0;
    if (wasPlaying) this.pause();
    this.loopStart = start;
    this.loopEnd = end;
    this.pausedAt = start;
    if (wasPlaying) this.start(index, start);
    return [start, end];
  }

  /* Move one edge of the loop to `seconds`, keeping the other (and the minimum length). */
  setLoopStart(seconds) {
    return this.setLoop(Math.min(seconds, this.loopEnd - MIN_LOOP_S), this.loopEnd);
  }

  setLoopEnd(seconds) {
    return this.setLoop(this.loopStart, Math.max(seconds, this.loopStart + MIN_LOOP_S));
  }

  /* Peak envelope over all conditions, `columns` values in [0, 1]. */
  envelope(columns) {
    const out = new Float32Array(columns);
    for (const buffer of this.buffers) {
      const step = Math.max(1, Math.floor(buffer.length / columns));
      for (let ch = 0; ch < buffer.numberOfChannels; ch++) {
        const data = buffer.getChannelData(ch);
        for (let c = 0; c < columns; c++) {
          let peak = 0;
          const end = Math.min(data.length, (c + 1) * step);
          for (let i = c * step; i < end; i += 4) peak = Math.max(peak, Math.abs(data[i]));
          out[c] = Math.max(out[c], peak);
        }
      }
    }
    return out;
  }
}

/* Waveform with loop region and playhead; drag selects a loop, a click seeks. */
class WaveformView {
  constructor(canvas, player, onLoop) {
    this.canvas = canvas;
    this.player = player;
    this.onLoop = onLoop;
    this.peaks = player.envelope(canvas.width);
    this.drag = null;
    canvas.addEventListener("pointerdown", (e) => this.down(e));
    canvas.addEventListener("pointermove", (e) => this.move(e));
    canvas.addEventListener("pointerup", (e) => this.up(e));
    const frame = () => { this.draw(); requestAnimationFrame(frame); };
    requestAnimationFrame(frame);
  }

  secondsAt(event) {
    const rect = this.canvas.getBoundingClientRect();
    const x = Math.min(Math.max(event.clientX - rect.left, 0), rect.width);
    return (x / rect.width) * this.player.duration;
  }

  /* Which loop edge is under the pointer ("start", "end") or null. */
  edgeAt(event) {
    const rect = this.canvas.getBoundingClientRect();
    const x = event.clientX - rect.left;
    const px = (s) => (s / (this.player.duration || 1)) * rect.width;
    if (this.player.wholeLoop) return null;
    const toStart = Math.abs(x - px(this.player.loopStart));
    const toEnd = Math.abs(x - px(this.player.loopEnd));
    if (Math.min(toStart, toEnd) > EDGE_GRAB_PX) return null;
    return toStart <= toEnd ? "start" : "end";
  }

  down(event) {
    this.canvas.setPointerCapture(event.pointerId);
    const at = this.secondsAt(event);
    const edge = this.edgeAt(event);
    this.drag = edge
      ? { edge, start: edge === "start" ? at : this.player.loopStart, end: edge === "end" ? at : this.player.loopEnd, x: event.clientX }
      : { edge: null, start: at, end: at, x: event.clientX };
  }

  move(event) {
    if (!this.drag) {
      this.canvas.style.cursor = this.edgeAt(event) ? "ew-resize" : "crosshair";
      return;
    }
    const at = this.secondsAt(event);
    if (this.drag.edge === "start") this.drag.start = at; else this.drag.end = at;
  }

  up(event) {
    if (!this.drag) return;
    const drag = this.drag;
    this.drag = null;
    if (!drag.edge && Math.abs(event.clientX - drag.x) < 4) {
      this.player.seek(drag.start);
      return;
    }
    const at = this.secondsAt(event);
    let range;
    if (drag.edge === "start") range = this.player.setLoopStart(at);
    else if (drag.edge === "end") range = this.player.setLoopEnd(at);
    else range = this.player.setLoop(drag.start, at);
    if (this.onLoop) this.onLoop(...range);
  }

  draw() {
    const { canvas, player } = this;
    const g = canvas.getContext("2d");
    const w = canvas.width, h = canvas.height, d = player.duration || 1;
    g.clearRect(0, 0, w, h);
    const region = this.drag ? [Math.min(this.drag.start, this.drag.end), Math.max(this.drag.start, this.drag.end)]
                             : [player.loopStart, player.loopEnd];
    g.fillStyle = "rgba(60, 120, 220, 0.15)";
    g.fillRect((region[0] / d) * w, 0, ((region[1] - region[0]) / d) * w, h);
    if (this.drag || !player.wholeLoop) {  // the edges, which can be dragged
      g.fillStyle = "#2b6cb0";
      g.fillRect((region[0] / d) * w, 0, 3, h);
      g.fillRect((region[1] / d) * w - 3, 0, 3, h);
    }
    g.fillStyle = "#4a5568";
    for (let x = 0; x < w; x++) {
      const half = (this.peaks[x] || 0) * (h / 2 - 2);
      g.fillRect(x, h / 2 - half, 1, Math.max(1, 2 * half));
    }
    g.fillStyle = "#c53030";
    g.fillRect((player.position() / d) * w - 1, 0, 2, h);
  }
}

window.MultiPlayer = MultiPlayer;
window.WaveformView = WaveformView;
