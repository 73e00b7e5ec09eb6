// Behaviour every console page shares, kept out of the HTML so the Content-Security-Policy can forbid inline code.
"use strict";

// A select marked data-submit-on-change sends its form as soon as a choice is made (the language switcher).
document.addEventListener("change", function (event) {
  const field = event.target;
  if (field.matches && field.matches("select[data-submit-on-change]") && field.form) {
    field.form.submit();
  }
});

// A checkbox marked data-select-all="<name>" ticks or clears every checkbox of that name on the page.
document.addEventListener("change", function (event) {
  const box = event.target;
  if (box.matches && box.matches("input[type=checkbox][data-select-all]")) {
    document.querySelectorAll('input[type=checkbox][name="' + box.dataset.selectAll + '"]').forEach(function (other) {
      other.checked = box.checked;
    });
  }
});
