// Template editor: a type change redraws the message's fields, placeholder chips insert at the cursor,
// images over 10 MB are refused before anything is sent (so nothing typed is lost).
(function () {
  var form = document.getElementById("template-form");
  if (!form) { return; }
  document.querySelectorAll(".js-hidden").forEach(function (button) { button.hidden = true; });
  form.querySelectorAll("select.kind-select, .template-action select[name$='-kind']").forEach(function (select) {
    select.addEventListener("change", function () {
      var refresh = document.createElement("input");
      refresh.type = "hidden"; refresh.name = "command"; refresh.value = "refresh";
      form.appendChild(refresh);
      form.submit();
    });
  });
  form.querySelectorAll("button[data-insert]").forEach(function (chip) {
    chip.addEventListener("click", function () {
      var target = document.getElementById(chip.dataset.target);
      if (!target) { return; }
      var start = target.selectionStart || 0, end = target.selectionEnd || 0;
      target.value = target.value.slice(0, start) + chip.dataset.insert + target.value.slice(end);
      target.focus();
      target.selectionStart = target.selectionEnd = start + chip.dataset.insert.length;
    });
  });
  var tooBig = document.getElementById("upload-too-big");
  form.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
    input.addEventListener("change", function () {
      var file = input.files && input.files[0];
      var over = file && file.size > Number(input.dataset.maxBytes);
      tooBig.hidden = !over;
      if (over) { input.value = ""; }
    });
  });
})();
