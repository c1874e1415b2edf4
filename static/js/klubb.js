// The portal's own behaviour, loaded from a file so the Content-Security-Policy needs no inline script.
// Copy and share buttons: <button data-copy="text" data-copied="Copied" hidden>, <button data-share="url"
// data-share-text="..." hidden>; each shows itself only where the browser can do it.
// The language switcher (<select data-autosubmit>) submits its form when the choice changes.
(function () {
  "use strict";

  function init(root) {
    root.querySelectorAll("[data-copy]").forEach(function (button) {
      if (!navigator.clipboard || button.dataset.klubbReady) return;
      button.dataset.klubbReady = "1";
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(button.dataset.copy).then(function () {
          if (button.dataset.copied) button.textContent = button.dataset.copied;
        });
      });
    });
    root.querySelectorAll("[data-share]").forEach(function (button) {
      if (!navigator.share || button.dataset.klubbReady) return;
      button.dataset.klubbReady = "1";
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.share({ text: button.dataset.shareText, url: button.dataset.share }).catch(function () {});
      });
    });
    root.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      if (select.dataset.klubbReady) return;
      select.dataset.klubbReady = "1";
      select.addEventListener("change", function () {
        select.form.requestSubmit();
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    init(document);
  });
  document.addEventListener("htmx:load", function (event) {
    init(event.target);
  });
})();
