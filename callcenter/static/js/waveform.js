// Recording players (calls/_player.html): the WAV is fetched from our own URL, decoded with the
// Web Audio API and its peaks drawn on a <canvas>; the <audio> element plays it. Clicking the
// waveform seeks. A recording that cannot be decoded (or is served from another origin without
// CORS) keeps its plain <audio> player and says so.
(function () {
  "use strict";

  var PLAYED = "#0d6efd", TODO = "#9ec5fe", CURSOR = "#dc3545";

  function peaksOf(buffer, columns) {
    var data = buffer.getChannelData(0), step = Math.max(1, Math.floor(data.length / columns));
    var peaks = new Float32Array(columns);
    for (var c = 0; c < columns; c++) {
      var max = 0, end = Math.min(data.length, (c + 1) * step);
      for (var i = c * step; i < end; i++) {
        var v = data[i] < 0 ? -data[i] : data[i];
        if (v > max) max = v;
      }
      peaks[c] = max;
    }
    return peaks;
  }

  function draw(player) {
    var canvas = player.querySelector("canvas"), audio = player.querySelector("audio");
    var peaks = player._peaks;
    if (!canvas || !peaks) return;
    var ctx = canvas.getContext("2d"), w = canvas.width, h = canvas.height, mid = h / 2;
    var done = audio && audio.duration ? audio.currentTime / audio.duration : 0;
    var loudest = 0;
    for (var k = 0; k < peaks.length; k++) if (peaks[k] > loudest) loudest = peaks[k];
    var scale = loudest > 0 ? (mid - 2) / loudest : 0;
    ctx.clearRect(0, 0, w, h);
    for (var x = 0; x < peaks.length; x++) {
      var y = Math.max(1, peaks[x] * scale);
      ctx.fillStyle = x / peaks.length < done ? PLAYED : TODO;
      ctx.fillRect(x, mid - y, 1, 2 * y);
    }
    if (done > 0) {
      ctx.fillStyle = CURSOR;
      ctx.fillRect(Math.floor(done * w), 0, 1, h);
    }
  }

  function decode(bytes) {
    var Offline = window.OfflineAudioContext || window.webkitOfflineAudioContext;
    var ctx = new Offline(1, 2, 8000);
    return new Promise(function (resolve, reject) {
      var p = ctx.decodeAudioData(bytes, resolve, reject);
      if (p && p.then) p.then(resolve, reject);
    });
  }

  function init(player) {
    if (player._ready) return;
    player._ready = true;
    var canvas = player.querySelector("canvas"), audio = player.querySelector("audio");
    var src = player.dataset.src;
    canvas.width = Math.max(200, Math.floor(canvas.clientWidth || 600));
    player.dataset.waveform = "loading";
    fetch(src, { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.arrayBuffer();
      })
      .then(decode)
      .then(function (buffer) {
        player._peaks = peaksOf(buffer, canvas.width);
        player.dataset.waveform = "ready";
        player.dataset.seconds = buffer.duration.toFixed(2);
        draw(player);
      })
      .catch(function () {
        player.dataset.waveform = "unavailable";
        canvas.hidden = true;
        var note = player.querySelector(".waveform-note");
        if (note) note.hidden = false;
      });
    audio.addEventListener("timeupdate", function () { draw(player); });
    audio.addEventListener("seeked", function () { draw(player); });
    canvas.addEventListener("click", function (ev) {
      if (!audio.duration) {
        audio.play();
        return;
      }
      var rect = canvas.getBoundingClientRect();
      audio.currentTime = audio.duration * Math.min(1, Math.max(0, (ev.clientX - rect.left) / rect.width));
      audio.play();
    });
  }

  function initAll(root) {
    (root || document).querySelectorAll("[data-recording-player]").forEach(init);
  }

  // Buttons [data-play-recording="<url>"] load that recording into the page's one
  // #recording-dock player and start it (task detail lists: one player, many rows).
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest("[data-play-recording]");
    if (!button) return;
    ev.preventDefault();
    var dock = document.getElementById("recording-dock");
    var template = document.getElementById("recording-player-template");
    if (!dock || !template) return;
    var html = template.innerHTML.split("__SRC__").join(button.dataset.playRecording);
    dock.innerHTML = html;
    dock.querySelector(".recording-title").textContent = button.dataset.title || "";
    dock.hidden = false;
    var player = dock.querySelector("[data-recording-player]");
    init(player);
    player.querySelector("audio").play().catch(function () {});
  });

  document.addEventListener("DOMContentLoaded", function () { initAll(document); });
  if (document.readyState !== "loading") initAll(document);
  window.RecordingPlayers = { init: initAll };
})();
