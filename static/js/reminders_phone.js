// Development phone page: reload every 20 s to show new messages, unless a reply is being typed.
(function () {
  "use strict";
  setInterval(function () {
    var active = document.activeElement;
    if (active && active.name === "text" && active.value) return;
    window.location.reload();
  }, 20000);
})();
