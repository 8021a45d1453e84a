// A small rich-text editor over a textarea ([data-richtext]): a contenteditable area with a toolbar
// (bold, italic, underline, red, lists, link, clear). The textarea stays the form field and is kept
// in step; without JavaScript it is edited directly. The server sanitises whatever arrives.
(function () {
  "use strict";

  function setUp(box) {
    var textarea = box.querySelector("textarea");
    var editor = box.querySelector("[data-richtext-editor]");
    var toolbar = box.querySelector("[data-richtext-toolbar]");
    if (!textarea || !editor || !toolbar || !document.execCommand) return;
    editor.innerHTML = textarea.value;
    textarea.classList.add("d-none");
    editor.classList.remove("d-none");
    toolbar.classList.remove("d-none");
    var label = box.querySelector("label[for='" + textarea.id + "']");
    if (label) label.addEventListener("click", function () { editor.focus(); });

    function sync() {
      textarea.value = editor.innerHTML;
    }

    editor.addEventListener("input", sync);
    toolbar.addEventListener("click", function (e) {
      var button = e.target.closest("[data-cmd]");
      if (!button) return;
      e.preventDefault();
      editor.focus();
      var command = button.dataset.cmd;
      var value = button.dataset.value || null;
      if (command === "createLink") {
        value = window.prompt(button.dataset.prompt || "URL", "https://");
        if (!value) return;
      }
      document.execCommand("styleWithCSS", false, command === "foreColor");
      document.execCommand(command, false, value);
      sync();
    });
    var form = box.closest("form");
    if (form) form.addEventListener("submit", sync);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-richtext]").forEach(setUp);
  });
})();
