/* The meeting's check-in dashboard: counters and the arrivals chart follow the WebSocket without reload. */
(function () {
  "use strict";

  var root = document.querySelector("[data-testid=checkin-dashboard]");
  if (!root || !window.WebSocket) return;
  var state = root.querySelector("[data-testid=live-state]");
  var chart = root.querySelector("[data-testid=arrivals-chart]");
  var delay = 1000;

  function render(payload) {
    ["registered", "approved", "checked_in", "no_shows"].forEach(function (key) {
      var node = root.querySelector("[data-counter=" + key + "]");
      if (node && payload[key] !== undefined) node.textContent = payload[key];
    });
    var bars = payload.arrivals || [];
    var peak = Math.max.apply(null, bars.map(function (b) { return b.count; }).concat([1]));
    chart.textContent = "";
    bars.forEach(function (bar) {
      var box = document.createElement("div");
      box.className = "live-bar";
      var count = document.createElement("span");
      count.textContent = bar.count;
      var fill = document.createElement("span");
      fill.className = "fill";
      fill.style.height = Math.round(100 * bar.count / peak) + "%";
      var label = document.createElement("small");
      label.textContent = bar.label;
      box.appendChild(count);
      box.appendChild(fill);
      box.appendChild(label);
      chart.appendChild(box);
    });
    root.setAttribute("data-updated", payload.at || "");
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var socket = new WebSocket(scheme + location.host + root.getAttribute("data-ws-path"));
    var ping = null;
    socket.onopen = function () {
      delay = 1000;
      state.setAttribute("data-state", "live");
      ping = setInterval(function () { socket.send(JSON.stringify({type: "ping"})); }, 25000);
    };
    socket.onmessage = function (message) {
      var data = JSON.parse(message.data);
      if (data.event === "counters") render(data.payload);
    };
    socket.onclose = function (event) {
      clearInterval(ping);
      state.setAttribute("data-state", "offline");
      if (event.code === 4401 || event.code === 4403) return;
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 30000);
    };
  }

  connect();
})();
