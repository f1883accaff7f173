/* SCORM 1.2 player: scorm-again's Scorm12API as window.API on this page, the package in the iframe below.
 * Every commit is posted to our commit endpoint as {token, session, sequence, values} (flattened cmi); the server
 * applies each (session, sequence) once. What the learner left (suspend_data, lesson_location, status, score)
 * is loaded before the package starts, so it resumes where it stopped. Config: the #scorm-config JSON block. */
(function () {
  "use strict";

  function start() {
    var root = document.querySelector("[data-scorm-player]");
    var configNode = document.getElementById("scorm-config");
    if (!root || !configNode || typeof window.Scorm12API !== "function") {
      return;
    }
    var config = JSON.parse(configNode.textContent);
    var frame = root.querySelector("[data-scorm-frame]");
    var statusNode = root.querySelector("[data-scorm-status]");
    var errorNode = root.querySelector("[data-scorm-error]");

    function showStatus(status) {
      if (!statusNode) {
        return;
      }
      var key = "label" + String(status || "not attempted").replace(/(^|\s)(\w)/g, function (_m, _s, c) {
        return c.toUpperCase();
      });
      statusNode.textContent = statusNode.dataset[key] || status || "";
      statusNode.dataset.status = status || "";
    }

    var api = new window.Scorm12API({
      lmsCommitUrl: config.commitUrl,
      dataCommitFormat: "flattened",
      autocommit: true,
      autocommitSeconds: 30,
      logLevel: 4,
      requestHandler: function (values, metadata) {
        return {
          token: config.token,
          session: config.session,
          sequence: metadata && typeof metadata.sequence === "number" ? metadata.sequence : Date.now(),
          values: values
        };
      },
      xhrResponseHandler: function (xhr) {
        var body = {};
        try {
          body = JSON.parse(xhr.responseText || "{}");
        } catch (_e) {
          body = {};
        }
        var ok = xhr.status >= 200 && xhr.status < 300 && body.result === "true";
        if (errorNode) {
          errorNode.hidden = ok;
        }
        if (ok && body.lesson_status) {
          root.dataset.savedStatus = body.lesson_status;
          root.dataset.completed = body.completed ? "1" : "0";
        }
        return {result: ok ? "true" : "false", errorCode: ok ? 0 : (body.errorCode || 101)};
      }
    });
    api.loadFromJSON(config.resume);
    api.on("LMSSetValue.cmi.core.lesson_status", function (_element, value) {
      showStatus(value);
    });
    showStatus(config.resume && config.resume.core ? config.resume.core.lesson_status : "");
    window.API = api;
    frame.src = config.launchUrl;
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
