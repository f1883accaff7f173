/*
 * Copy buttons: <button data-copy="#input-id" data-copied-text="已复制"> copies the input's value to the clipboard
 * (navigator.clipboard where the page is secure, else the selection and execCommand, which WeChat's webview
 * supports) and says so on the button for two seconds.
 */
(function () {
  "use strict";

  function copied(button) {
    var label = button.textContent;
    button.textContent = button.getAttribute("data-copied-text") || label;
    button.setAttribute("data-copied", "1");
    setTimeout(function () { button.textContent = label; }, 2000);
  }

  function fallback(input, button) {
    input.focus();
    input.select();
    try { if (document.execCommand("copy")) { copied(button); } } catch (e) { /* the text stays selected */ }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy]") : null;
    if (!button) { return; }
    var input = document.querySelector(button.getAttribute("data-copy"));
    if (!input) { return; }
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(function () { copied(button); },
        function () { fallback(input, button); });
    } else {
      fallback(input, button);
    }
  });
})();
