/*
 * Reading beacon for content pages.
 *
 * Active on an element [data-reading-record] (rendered by {% reading_bar %} for a doctor who may read the page).
 * Counts active seconds only while the tab is visible (Page Visibility API) and the window has focus, tracks
 * the deepest share of the body ([data-testid=content-body]) scrolled into view, and reports
 * {"record", "seconds", "share"} to the data-reading-url endpoint: every data-reading-every s while active, and when the page is
 * hidden or left (navigator.sendBeacon is avoided because it cannot send the CSRF header; fetch with keepalive
 * is used instead). The server caps the seconds by wall-clock time and decides completion.
 */
(function () {
  "use strict";

  var status = document.querySelector("[data-reading-record]");
  if (!status) { return; }
  var url = status.getAttribute("data-reading-url");
  var record = parseInt(status.getAttribute("data-reading-record"), 10);
  var body = document.querySelector("[data-testid=content-body]") || document.body;
  var REPORT_EVERY_MS = 1000 * (parseInt(status.getAttribute("data-reading-every"), 10) || 15);
  var pending = 0;      // active seconds not yet reported
  var share = 0;
  var reportedShare = -1;
  var active = document.visibilityState === "visible" && document.hasFocus();

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) { return decodeURIComponent(match[1]); }
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function measure() {
    var rect = body.getBoundingClientRect();
    var height = Math.max(rect.height, 1);
    var seen = Math.min(Math.max(window.innerHeight - rect.top, 0), height);
    share = Math.max(share, Math.min(1, seen / height));
  }

  function report() {
    measure();
    var seconds = Math.floor(pending);
    if (seconds <= 0 && share <= reportedShare) { return; }
    pending -= seconds;
    reportedShare = share;
    var payload = JSON.stringify({ record: record, seconds: seconds, share: Math.round(share * 1000) / 1000 });
    try {
      fetch(url, {
        method: "POST", keepalive: true, credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken() }, body: payload
      }).then(function (response) { return response.ok ? response.json() : null; }).then(function (data) {
        if (data && data.completed) {
          if (status.getAttribute("data-reading-complete") !== "1") {
            // The read just completed: say so, with the points it paid (translated texts come with the page).
            var text = data.points > 0 ? status.getAttribute("data-points-text").replace("{points}", String(data.points))
              : status.getAttribute("data-done-text");
            status.textContent = text;
            status.classList.add("engage-reading__done");
          }
          status.setAttribute("data-reading-complete", "1");
          document.body.dispatchEvent(new CustomEvent("engage:reading-complete", { bubbles: true, detail: data }));
        }
      }).catch(function () { /* the next report retries with the time accumulated since */ });
    } catch (e) { /* very old browsers: nothing to do */ }
  }

  function setActive() {
    var now = document.visibilityState === "visible" && document.hasFocus();
    if (active && !now) { report(); }
    active = now;
  }

  setInterval(function () { if (active) { pending += 1; } }, 1000);
  setInterval(function () { if (active) { report(); } }, REPORT_EVERY_MS);
  window.addEventListener("scroll", measure, { passive: true });
  document.addEventListener("visibilitychange", setActive);
  window.addEventListener("focus", setActive);
  window.addEventListener("blur", setActive);
  window.addEventListener("pagehide", report);
  measure();
})();
