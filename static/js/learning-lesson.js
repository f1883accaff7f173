/*
 * Lesson page: plays HLS lesson videos, reports visible time and where to resume.
 *
 * Videos with [data-hls-src] play the stream natively where the browser does HLS itself on an Apple phone (WeChat
 * and Safari on iOS) or where hls.js cannot run (no Media Source Extensions), through the vendored hls.js
 * everywhere else; MP4 videos play from their <source> as they are.
 * Progress is active on [data-lesson-progress-url]. Counts seconds only while the tab is visible, reports them every
 * 15 s and when the page is hidden, with the position of the first lesson video (its current time) so the lesson
 * resumes there; the server caps what one report may add.
 */
(function () {
  "use strict";

  // Desktop Chromium answers "maybe" for HLS without playing it well: native only on Apple phones or without MSE.
  function nativeHls(video) {
    var says = !!video.canPlayType("application/vnd.apple.mpegurl");
    var apple = /iPhone|iPad|iPod/.test(navigator.userAgent);
    return says && (apple || !(window.Hls && window.Hls.isSupported()));
  }

  function attachHls(video) {
    var url = video.getAttribute("data-hls-src");
    if (nativeHls(video) || !(window.Hls && window.Hls.isSupported())) {
      video.src = url;
      video.setAttribute("data-player", "native");
      return;
    }
    var hls = new window.Hls({ enableWorker: false });
    var retries = 3;  // a phone changing networks: try again a few times, then leave the player's error showing
    hls.on(window.Hls.Events.ERROR, function (event, data) {
      if (!data.fatal) { return; }
      if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) { hls.recoverMediaError(); return; }
      if (data.type === window.Hls.ErrorTypes.NETWORK_ERROR && retries-- > 0) { hls.startLoad(); return; }
      hls.destroy();
      video.setAttribute("data-player", "failed");
    });
    hls.loadSource(url);
    hls.attachMedia(video);
    video.setAttribute("data-player", "hls.js");
  }

  Array.prototype.forEach.call(document.querySelectorAll("video[data-hls-src]"), attachHls);

  var lesson = document.querySelector("[data-lesson-progress-url]");
  if (!lesson) { return; }
  var url = lesson.getAttribute("data-lesson-progress-url");
  var video = document.querySelector("video[data-lesson-video]");
  var pending = 0;

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) { return decodeURIComponent(match[1]); }
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  var position = parseFloat(lesson.getAttribute("data-lesson-position"));
  if (video && position > 0) {
    video.addEventListener("loadedmetadata", function () { video.currentTime = position; }, { once: true });
  }

  function report() {
    var seconds = Math.floor(pending);
    if (seconds <= 0) { return; }
    pending -= seconds;
    var body = { seconds: seconds };
    if (video && video.currentTime > 0) { body.position = String(Math.floor(video.currentTime)); }
    fetch(url, {
      method: "POST", keepalive: true, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() }, body: JSON.stringify(body)
    }).catch(function () { pending += seconds; });
  }

  setInterval(function () { if (document.visibilityState === "visible") { pending += 1; } }, 1000);
  setInterval(report, 15000);
  document.addEventListener("visibilitychange", function () { if (document.visibilityState !== "visible") { report(); } });
  window.addEventListener("pagehide", report);
})();
