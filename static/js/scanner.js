/* The on-site scanner page: camera (jsQR), keyboard-wedge field, manual search (by registration id: the search
   never gives a ticket secret). Every scan posts the ticket
   secret to the check-in API with a fresh nonce; a network failure retries with the SAME nonce, so the server
   counts it once. */
(function () {
  "use strict";

  var configNode = document.getElementById("scanner-config");
  if (!configNode) return;
  var config = JSON.parse(configNode.textContent);
  var labels = config.labels || {};
  var root = document.querySelector("[data-testid=checkin-scanner]");
  var resultBox = root.querySelector("[data-testid=scanner-result]");
  var wedgeForm = root.querySelector("[data-testid=scanner-wedge-form]");
  var wedge = root.querySelector("[data-testid=scanner-wedge]");
  var RETRIES = 4;

  function csrfToken() {
    return config.csrfToken || "";
  }

  function newNonce() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function tone(status) {
    if (status === "ok") return "is-ok";
    if (status === "already_checked_in") return "is-already";
    if (status === "pending" || status === "network") return "is-pending";
    return "is-error";
  }

  function show(status, body) {
    body = body || {};
    var reg = body.registration || {};
    resultBox.hidden = false;
    resultBox.className = "checkin-result " + tone(status);
    resultBox.setAttribute("data-status", status);
    resultBox.querySelector("[data-testid=scanner-result-status]").textContent =
      labels[status] || body.message || labels.error;
    resultBox.querySelector("[data-testid=scanner-result-name]").textContent = reg.name || "";
    var meta = [reg.hospital, [reg.department, reg.title].filter(Boolean).join(" · ")].filter(Boolean);
    // The server's local (Beijing) time, never the scanner device's own time zone.
    var when = body.checked_in_at_local || body.checked_in_at || "";
    if (when) meta.push(when.slice(11, 19) || when);
    resultBox.querySelector("[data-testid=scanner-result-meta]").textContent = meta.join(" — ");
    if (navigator.vibrate) navigator.vibrate(status === "ok" ? 80 : [60, 60, 60]);
  }

  function post(payload, attempt) {
    return fetch(config.checkinUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken(), "Accept": "application/json"},
      body: JSON.stringify(payload)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (body) {
        if (response.status >= 500) throw new Error("server " + response.status);
        return {status: body.status || body.code || "error", body: body};
      });
    }).catch(function (error) {
      if (attempt >= RETRIES) throw error;
      show("network");
      return new Promise(function (resolve) { setTimeout(resolve, 500 * Math.pow(2, attempt)); })
        .then(function () { return post(payload, attempt + 1); });
    });
  }

  function checkIn(secret, method) {
    secret = (secret || "").trim();
    if (!secret) return Promise.resolve();
    return send({secret: secret}, method);
  }

  // The manual search gives no ticket secret: the chosen doctor is checked in by their registration id.
  function checkInChosen(registrationId) {
    return send({registration: registrationId}, "manual");
  }

  function send(target, method) {
    show("pending");
    resultBox.querySelector("[data-testid=scanner-result-status]").textContent = "…";
    var payload = {nonce: newNonce(), method: method, device: navigator.userAgent.slice(0, 100),
                   client_time: new Date().toISOString()};
    Object.keys(target).forEach(function (key) { payload[key] = target[key]; });
    return post(payload, 0).then(function (answer) {
      show(answer.status, answer.body);
    }, function () {
      show("error");
    });
  }

  // WeChat's own scanner (wx.scanQRCode, wechat_share.js) hands its result over like the camera's.
  wedge.addEventListener("wechat-scan", function (event) {
    event.preventDefault();
    checkIn(secretFrom(String(event.detail || "")), "camera");
  });

  // Keyboard wedge: the scanner types the code and presses Enter.
  wedgeForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var value = wedge.value;
    wedge.value = "";
    checkIn(value, "wedge").then(function () { wedge.focus(); });
  });

  // A ticket QR may carry the bare secret or a URL ending in it.
  function secretFrom(text) {
    text = (text || "").trim();
    if (/^https?:\/\//i.test(text)) {
      try {
        var url = new URL(text);
        var param = url.searchParams.get("secret") || url.searchParams.get("t");
        if (param) return param;
        var parts = url.pathname.split("/").filter(Boolean);
        return parts.length ? parts[parts.length - 1] : text;
      } catch (e) { return text; }
    }
    return text;
  }

  // Camera scanning with jsQR: draw frames onto a canvas and decode; the same code is ignored for 3 seconds.
  var cameraButton = root.querySelector("[data-testid=scanner-camera]");
  var cameraMessage = root.querySelector("[data-testid=scanner-camera-message]");
  var video = root.querySelector("[data-testid=scanner-video]");
  var canvas = root.querySelector("[data-testid=scanner-canvas]");
  var stream = null;
  var last = {text: "", at: 0};

  function stopCamera() {
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    video.hidden = true;
  }

  function tick() {
    if (!stream) return;
    if (video.readyState === video.HAVE_ENOUGH_DATA && window.jsQR) {
      var w = video.videoWidth, h = video.videoHeight;
      var scale = Math.min(1, 640 / Math.max(w, h));
      canvas.width = Math.round(w * scale);
      canvas.height = Math.round(h * scale);
      var ctx = canvas.getContext("2d", {willReadFrequently: true});
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      var image = ctx.getImageData(0, 0, canvas.width, canvas.height);
      var code = window.jsQR(image.data, image.width, image.height, {inversionAttempts: "dontInvert"});
      var now = Date.now();
      if (code && code.data && (code.data !== last.text || now - last.at > 3000)) {
        last = {text: code.data, at: now};
        checkIn(secretFrom(code.data), "camera");
      }
    }
    requestAnimationFrame(tick);
  }

  cameraButton.addEventListener("click", function () {
    if (stream) { stopCamera(); return; }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      cameraMessage.hidden = false;
      cameraMessage.textContent = labels.camera_unsupported;
      return;
    }
    navigator.mediaDevices.getUserMedia({video: {facingMode: "environment"}, audio: false}).then(function (s) {
      stream = s;
      video.srcObject = s;
      video.hidden = false;
      return video.play();
    }).then(function () {
      requestAnimationFrame(tick);
    }).catch(function (error) {
      stopCamera();
      cameraMessage.hidden = false;
      cameraMessage.textContent = String(error && error.message || error);
    });
  });

  // Manual search by name or the last four digits of the mobile number.
  var search = root.querySelector("[data-testid=scanner-search]");
  var hits = root.querySelector("[data-testid=scanner-hits]");
  var timer = null;

  function renderHits(list) {
    hits.textContent = "";
    list.forEach(function (hit) {
      var item = document.createElement("li");
      item.setAttribute("data-testid", "scanner-hit");
      var text = document.createElement("div");
      text.textContent = hit.name;
      var small = document.createElement("small");
      small.textContent = [hit.hospital, hit.department, hit.title].filter(Boolean).join(" · ");
      text.appendChild(small);
      item.appendChild(text);
      var button = document.createElement("button");
      button.type = "button";
      button.className = "weui-btn weui-btn_mini " + (hit.checked_in ? "weui-btn_default" : "weui-btn_primary");
      button.textContent = hit.checked_in ? (labels.already_checked_in || "✓") : labels.action;
      button.disabled = !hit.can_check_in;
      button.setAttribute("data-testid", "scanner-hit-checkin");
      button.addEventListener("click", function () {
        checkInChosen(hit.id).then(function () { runSearch(); });
      });
      item.appendChild(button);
      hits.appendChild(item);
    });
  }

  function runSearch() {
    var q = search.value.trim();
    if (!q) { hits.textContent = ""; return; }
    fetch(config.searchUrl + "?q=" + encodeURIComponent(q), {credentials: "same-origin",
                                                             headers: {"Accept": "application/json"}})
      .then(function (response) { return response.ok ? response.json() : []; })
      .then(renderHits, function () { renderHits([]); });
  }

  search.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(runSearch, 300);
  });
})();
