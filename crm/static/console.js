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

// Inside a form, an element marked data-when-field="<name>" data-when-values="<a> <b>" shows only while that
// field's value is one of the values (the scenario and survey question forms). Without JavaScript every
// input stays visible and the server ignores the ones that do not apply.
(function () {
  function valueOf(form, name) {
    const fields = Array.from(form.elements).filter(function (field) { return field.name === name; });
    const chosen = fields.find(function (field) { return field.type !== "radio" || field.checked; });
    return chosen ? chosen.value : "";
  }

  function update(form) {
    form.querySelectorAll("[data-when-field]").forEach(function (element) {
      const allowed = element.dataset.whenValues.split(" ");
      element.hidden = allowed.indexOf(valueOf(form, element.dataset.whenField)) === -1;
    });
  }

  document.querySelectorAll("form").forEach(function (form) {
    if (form.querySelector("[data-when-field]")) {
      form.addEventListener("change", function () { update(form); });
      update(form);
    }
  });
})();

// Spare rows (elements marked data-spare-row="<n>", several elements may share a number) stay hidden until a
// button marked data-reveal-spare-row is pressed: each press shows the next number's elements, and the button
// goes away when none is left. Without JavaScript every row shows.
(function () {
  document.querySelectorAll("[data-reveal-spare-row]").forEach(function (button) {
    const container = button.closest("form") || document;
    const spare = Array.from(container.querySelectorAll("[data-spare-row]"));
    const numbers = Array.from(new Set(spare.map(function (element) { return element.dataset.spareRow; })));
    if (!numbers.length) {
      return;
    }
    spare.forEach(function (element) { element.hidden = true; });
    button.hidden = false;
    button.addEventListener("click", function () {
      const next = numbers.shift();
      const shown = spare.filter(function (element) { return element.dataset.spareRow === next; });
      shown.forEach(function (element) { element.hidden = false; });
      const input = shown.length ? shown[0].querySelector("input") : null;
      if (input) {
        input.focus();
      }
      button.hidden = numbers.length === 0;
    });
  });
})();

// A friend's image shown from LINE (data-line-image): when it does not load, its label shows instead, with a note
// saying whether LINE no longer keeps it (404) or could not be reached. Without JavaScript the image's alt text shows.
(function () {
  function fallBack(image) {
    const box = image.closest("[data-line-image]");
    if (!box || box.dataset.checked) return;
    box.dataset.checked = "1";
    const fallback = box.querySelector("[data-image-fallback]");
    function show(note) {
      image.closest("a").hidden = true;
      fallback.querySelector("[data-image-note]").textContent = note;
      fallback.hidden = false;
    }
    fetch(image.src, {credentials: "same-origin"}).then(function (response) {
      if (response.status === 404) show(fallback.dataset.goneNote);
      else if (!response.ok) show(fallback.dataset.failedNote);
    }).catch(function () {
      show(fallback.dataset.failedNote);
    });
  }

  document.addEventListener("error", function (event) {
    if (event.target.matches && event.target.matches("[data-line-image] img")) fallBack(event.target);
  }, true);
  document.querySelectorAll("[data-line-image] img").forEach(function (image) {
    if (image.complete && image.naturalWidth === 0) fallBack(image);
  });
})();
