/*
 * Lesson page: reports visible time and where to resume.
 *
 * Active on [data-lesson-progress-url]. Counts seconds only while the tab is visible, reports them every 15 s and
 * when the page is hidden, with the position of the first lesson video (its current time) so the lesson resumes
 * there; the server caps what one report may add.
 */
(function () {
  "use strict";

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
