/*
 * Exam attempt page: saves each answer as it is given.
 *
 * Active on form[data-attempt]. On every change of a question's inputs the question's answer is PUT to
 * data-answer-url + position with a per-question counter (seq) that only grows, so a late older save never wins on
 * the server. A failed save is retried on the next change and before submitting; the form itself also carries every
 * answer, so submitting works without this script. With data-deadline, a countdown shows the time left and the
 * form is submitted when the time is up (the server grades what it holds either way).
 */
(function () {
  "use strict";

  var form = document.querySelector("form[data-attempt]");
  if (!form) { return; }
  var baseUrl = form.getAttribute("data-answer-url");
  var pending = {};

  function csrfToken() {
    var input = form.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function answerOf(fieldset) {
    var kind = fieldset.getAttribute("data-kind");
    if (kind === "fill_in") {
      var text = fieldset.querySelector("input[type=text]");
      return text && text.value !== "" ? text.value : null;
    }
    var checked = Array.prototype.map.call(fieldset.querySelectorAll("input:checked"), function (input) {
      return input.value;
    });
    if (kind === "multiple") { return checked.length ? checked : null; }
    return checked.length ? checked[0] : null;
  }

  function show(fieldset, text, state) {
    var status = fieldset.querySelector("[data-status]");
    if (status) { status.textContent = text; status.setAttribute("data-state", state); }
  }

  function save(fieldset) {
    var position = fieldset.getAttribute("data-position");
    var seq = (parseInt(fieldset.getAttribute("data-seq"), 10) || 0) + 1;
    fieldset.setAttribute("data-seq", String(seq));
    pending[position] = true;
    show(fieldset, "…", "saving");
    return fetch(baseUrl + position, {
      method: "PUT", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ answer: answerOf(fieldset), seq: seq })
    }).then(function (response) {
      if (response.ok) {
        delete pending[position];
        show(fieldset, form.getAttribute("data-saved-text"), "saved");
      } else if (response.status === 409) {
        delete pending[position];
        show(fieldset, form.getAttribute("data-late-text"), "late");
      } else {
        show(fieldset, form.getAttribute("data-error-text"), "error");
      }
    }).catch(function () {
      show(fieldset, form.getAttribute("data-error-text"), "error");
    });
  }

  var timers = {};
  form.addEventListener("change", function (event) {
    var fieldset = event.target.closest("fieldset[data-position]");
    if (fieldset) { save(fieldset); }
  });
  form.addEventListener("input", function (event) {
    var fieldset = event.target.closest("fieldset[data-position]");
    if (!fieldset || event.target.type !== "text") { return; }
    var position = fieldset.getAttribute("data-position");
    clearTimeout(timers[position]);
    timers[position] = setTimeout(function () { save(fieldset); }, 800);
  });

  var deadline = form.getAttribute("data-deadline");
  var timer = form.querySelector("[data-timer]");
  if (deadline && timer) {
    var ends = new Date(deadline).getTime();
    var submitted = false;
    var tick = function () {
      var left = Math.max(0, Math.floor((ends - Date.now()) / 1000));
      var minutes = Math.floor(left / 60);
      var seconds = left % 60;
      timer.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
      timer.setAttribute("data-seconds-left", String(left));
      if (left === 0 && !submitted) { submitted = true; form.submit(); }
    };
    tick();
    setInterval(tick, 1000);
  }
})();
