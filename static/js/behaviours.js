/* Small page behaviours declared with data- attributes, so no page needs an inline event handler (CSP). */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.getAttribute("data-confirm"))) { event.preventDefault(); }
  });
  document.addEventListener("click", function (event) {
    var input = event.target.closest("input[data-select-on-click]");
    if (input) { input.select(); }
  });
  document.addEventListener("change", function (event) {
    var field = event.target.closest("[data-autosubmit]");
    if (field && field.form) { field.form.submit(); }
  });
})();
