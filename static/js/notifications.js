/*
 * Live notifications for signed-in users.
 *
 * Active only when the page has <body data-ws-notifications="1">. Opens a WebSocket to /ws/notifications/,
 * keeps it alive with {"type": "ping"} every 25 s, reconnects with exponential backoff, and for every server
 * message {"event": ..., "payload": {...}}:
 *   - shows a WeUI top tip with payload.message when there is one (or the title of an inbox notification);
 *   - keeps the inbox bell's unread badge current ("notification" adds one, "inbox.unread" sets the count);
 *   - dispatches a bubbling CustomEvent "engage:notification" on document.body with detail = the message,
 *     so pages can react: document.addEventListener("engage:notification", function (e) { e.detail.event ... }).
 * "pong" answers are internal and not dispatched. The socket state is mirrored on body[data-ws-state]
 * ("connecting", "open", "closed", "unauthorised") for pages and browser tests.
 */
(function () {
  "use strict";

  var PING_INTERVAL_MS = 25000;
  var BACKOFF_START_MS = 1000;
  var BACKOFF_MAX_MS = 30000;
  var TIP_VISIBLE_MS = 4000;
  var CLOSE_UNAUTHORISED = 4401;

  function start() {
    var body = document.body;
    if (!body || body.getAttribute("data-ws-notifications") !== "1" || !("WebSocket" in window)) {
      return;
    }

    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    var url = scheme + window.location.host + "/ws/notifications/";
    var socket = null;
    var pingTimer = null;
    var reconnectTimer = null;
    var backoff = BACKOFF_START_MS;
    var stopped = false;

    function setState(state) {
      body.setAttribute("data-ws-state", state);
    }

    function clearTimers() {
      if (pingTimer) {
        window.clearInterval(pingTimer);
        pingTimer = null;
      }
      if (reconnectTimer) {
        window.clearTimeout(reconnectTimer);
        reconnectTimer = null;
      }
    }

    function send(obj) {
      if (socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify(obj));
      }
    }

    function scheduleReconnect() {
      if (stopped || reconnectTimer) {
        return;
      }
      // Full jitter keeps many pages from reconnecting at the same instant after a deploy.
      var delay = Math.round(backoff / 2 + Math.random() * (backoff / 2));
      backoff = Math.min(backoff * 2, BACKOFF_MAX_MS);
      reconnectTimer = window.setTimeout(function () {
        reconnectTimer = null;
        connect();
      }, delay);
    }

    function connect() {
      if (stopped) {
        return;
      }
      if (socket && (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING)) {
        return;
      }
      setState("connecting");
      try {
        socket = new WebSocket(url);
      } catch (err) {
        setState("closed");
        scheduleReconnect();
        return;
      }

      socket.onopen = function () {
        backoff = BACKOFF_START_MS;
        setState("open");
        if (pingTimer) {
          window.clearInterval(pingTimer);
        }
        pingTimer = window.setInterval(function () {
          send({ type: "ping" });
        }, PING_INTERVAL_MS);
      };

      socket.onmessage = function (event) {
        var data;
        try {
          data = JSON.parse(event.data);
        } catch (err) {
          return;
        }
        if (!data || typeof data !== "object" || data.event === "pong") {
          return;
        }
        var payload = data.payload && typeof data.payload === "object" ? data.payload : {};
        if (typeof payload.message === "string" && payload.message) {
          showTip(payload.message, payload);
        } else if (data.event === "notification" && typeof payload.title === "string" && payload.title) {
          showTip(payload.title, payload);
        }
        updateInboxBadge(data.event, payload);
        body.dispatchEvent(new CustomEvent("engage:notification", { bubbles: true, detail: data }));
      };

      socket.onclose = function (event) {
        if (pingTimer) {
          window.clearInterval(pingTimer);
          pingTimer = null;
        }
        socket = null;
        if (event && event.code === CLOSE_UNAUTHORISED) {
          // Signed out elsewhere: retrying would be refused again.
          stopped = true;
          setState("unauthorised");
          return;
        }
        setState("closed");
        scheduleReconnect();
      };

      socket.onerror = function () {
        // onclose follows and schedules the reconnect.
      };
    }

    function reconnectNow() {
      if (stopped) {
        return;
      }
      if (!socket) {
        if (reconnectTimer) {
          window.clearTimeout(reconnectTimer);
          reconnectTimer = null;
        }
        backoff = BACKOFF_START_MS;
        connect();
      }
    }

    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "visible") {
        reconnectNow();
      }
    });
    window.addEventListener("online", reconnectNow);
    window.addEventListener("pagehide", function () {
      stopped = true;
      clearTimers();
      if (socket) {
        socket.close(1000);
      }
    });
    window.addEventListener("pageshow", function (event) {
      // Back/forward cache: the page comes back without its socket.
      if (event.persisted) {
        stopped = false;
        reconnectNow();
      }
    });

    window.EngageNotifications = {
      send: send,
      showTip: showTip,
      close: function () {
        stopped = true;
        clearTimers();
        if (socket) {
          socket.close(1000);
        }
        setState("closed");
      },
    };

    connect();
  }

  /*
   * The unread badge of the inbox bell (templates/core/includes/inbox_link.html): a new inbox notification
   * adds one; "inbox.unread" (sent when the person reads notifications on another page) sets the count.
   */
  function updateInboxBadge(event, payload) {
    var badge = document.querySelector("[data-inbox-unread]");
    if (!badge) {
      return;
    }
    var count = parseInt(badge.getAttribute("data-inbox-unread"), 10) || 0;
    if (event === "notification") {
      count += 1;
    } else if (event === "inbox.unread" && typeof payload.unread === "number" && payload.unread >= 0) {
      count = Math.floor(payload.unread);
    } else {
      return;
    }
    badge.setAttribute("data-inbox-unread", String(count));
    badge.textContent = count > 99 ? "99+" : String(count);
    badge.hidden = count === 0;
  }

  var tip = null;
  var tipTimer = null;

  function showTip(message, payload) {
    payload = payload || {};
    if (!tip) {
      tip = document.createElement("div");
      tip.className = "weui-toptips engage-toptip";
      tip.setAttribute("role", "status");
      tip.setAttribute("aria-live", "polite");
      tip.setAttribute("data-testid", "notification-tip");
      tip.addEventListener("click", function () {
        var link = tip.getAttribute("data-url");
        hideTip();
        if (link) {
          window.location.href = link;
        }
      });
      document.body.appendChild(tip);
    }
    tip.textContent = message;
    tip.classList.toggle("engage-toptip_warn", payload.level === "error" || payload.level === "warning");
    // Only same-site paths are followed on click.
    if (typeof payload.url === "string" && payload.url.charAt(0) === "/" && payload.url.charAt(1) !== "/") {
      tip.setAttribute("data-url", payload.url);
    } else {
      tip.removeAttribute("data-url");
    }
    // Force a reflow so the slide-in transition runs again for consecutive messages.
    void tip.offsetWidth;
    tip.classList.add("is-visible");
    if (tipTimer) {
      window.clearTimeout(tipTimer);
    }
    tipTimer = window.setTimeout(hideTip, TIP_VISIBLE_MS);
  }

  function hideTip() {
    if (tipTimer) {
      window.clearTimeout(tipTimer);
      tipTimer = null;
    }
    if (tip) {
      tip.classList.remove("is-visible");
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
