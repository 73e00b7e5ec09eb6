// Scenario settings and step forms: show only the inputs the current choice uses (which trigger, which timing,
// skip or jump). Without JavaScript every input stays visible and the server ignores the ones that do not apply.
"use strict";

(function () {
  const form = document.querySelector("form[data-scenario-form]");
  if (!form) {
    return;
  }
  const dependents = Array.from(form.querySelectorAll("[data-when-field]"));

  function valueOf(name) {
    const fields = Array.from(form.elements).filter(function (field) { return field.name === name; });
    const chosen = fields.find(function (field) { return field.type !== "radio" || field.checked; });
    return chosen ? chosen.value : "";
  }

  function update() {
    dependents.forEach(function (element) {
      const allowed = element.dataset.whenValues.split(" ");
      element.hidden = allowed.indexOf(valueOf(element.dataset.whenField)) === -1;
    });
  }

  form.addEventListener("change", update);
  update();
})();
