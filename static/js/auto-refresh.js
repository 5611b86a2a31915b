// Reloads the page every data-auto-refresh seconds while its checkbox is ticked.
// WCAG 2.2.1: a refresh the user can stop (a <meta http-equiv="refresh"> cannot be stopped).
(function () {
  "use strict";
  const box = document.querySelector("[data-auto-refresh]");
  if (!box) return;
  const seconds = Number(box.dataset.autoRefresh) || 60;
  const toggle = box.querySelector("input[type=checkbox]");
  let timer = null;
  function schedule() {
    clearTimeout(timer);
    if (toggle.checked) timer = setTimeout(function () { window.location.reload(); }, seconds * 1000);
  }
  toggle.addEventListener("change", schedule);
  schedule();
})();
