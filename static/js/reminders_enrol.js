// Enrolment form: the guardian fields matter for patients under 14; highlight them when the birth date says so.
(function () {
  "use strict";
  var birth = document.querySelector("input[name=birth_date]");
  if (!birth) return;
  var guardian = document.querySelectorAll("[name^=guardian_]");
  function update() {
    var minor = false;
    if (birth.value) {
      var b = new Date(birth.value), now = new Date();
      var age = now.getFullYear() - b.getFullYear() - ((now.getMonth() < b.getMonth() ||
        (now.getMonth() === b.getMonth() && now.getDate() < b.getDate())) ? 1 : 0);
      minor = age < 14;
    }
    guardian.forEach(function (el) {
      var cell = el.closest(".weui-cell");
      if (cell) cell.classList.toggle("weui-cell_warn", minor && !el.value && el.type !== "checkbox");
      if (el.type !== "checkbox") el.required = minor && el.name !== "guardian_relationship";
    });
  }
  birth.addEventListener("change", update);
  update();
})();
