// Action list editor (templates/actions/_editor.html): a row shows the inputs of its chosen kind only (the others
// are disabled, so they are not submitted); rows are added, removed and moved. Rows are submitted in page order.
(function () {
  "use strict";
  if (window.crmActionEditor) { return; }
  window.crmActionEditor = true;

  function showKind(row) {
    var kind = row.querySelector(".action-type").value;
    row.querySelectorAll(".action-params").forEach(function (group) {
      var active = group.getAttribute("data-kind") === kind;
      group.hidden = !active;
      group.querySelectorAll("select, input").forEach(function (input) { input.disabled = !active; });
    });
  }

  function wireRow(editor, row) {
    row.querySelector(".action-buttons").hidden = false;
    row.querySelectorAll(".action-params-kind").forEach(function (label) { label.hidden = true; });
    row.querySelector(".action-type").addEventListener("change", function () { showKind(row); });
    row.querySelector(".action-up").addEventListener("click", function () {
      if (row.previousElementSibling) { row.parentNode.insertBefore(row, row.previousElementSibling); }
    });
    row.querySelector(".action-down").addEventListener("click", function () {
      if (row.nextElementSibling) { row.parentNode.insertBefore(row.nextElementSibling, row); }
    });
    row.querySelector(".action-remove").addEventListener("click", function () {
      row.remove();
      update(editor);
    });
    showKind(row);
  }

  function update(editor) {
    var rows = editor.querySelectorAll(".action-row").length;
    editor.querySelector(".action-add").hidden = rows >= Number(editor.getAttribute("data-max"));
  }

  function wire(editor) {
    var list = editor.querySelector(".action-rows");
    var template = editor.querySelector(".action-row-template");
    list.querySelectorAll(".action-row").forEach(function (row) { wireRow(editor, row); });
    editor.querySelector(".action-add").addEventListener("click", function () {
      var index = Number(editor.getAttribute("data-next"));
      editor.setAttribute("data-next", String(index + 1));
      var holder = document.createElement("div");
      holder.innerHTML = template.innerHTML.replace(/__row__/g, String(index));
      var row = holder.querySelector(".action-row");
      list.appendChild(row);
      wireRow(editor, row);
      update(editor);
      row.querySelector(".action-type").focus();
    });
    update(editor);
  }

  function start() { document.querySelectorAll(".action-editor").forEach(wire); }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
