// "Copy" buttons: shown only where the Clipboard API works; the text stays selectable without them.
(() => {
  "use strict";
  if (!navigator.clipboard) return;
  for (const button of document.querySelectorAll("button[data-copy]")) {
    const source = document.getElementById(button.dataset.copy);
    const status = document.querySelector(`[data-copy-status="${button.dataset.copy}"]`);
    button.hidden = false;
    button.addEventListener("click", async () => {
      try {
        await navigator.clipboard.writeText(source.textContent.trim());
        status.textContent = "Copied.";
      } catch {
        status.textContent = "Could not copy: select the key and copy it yourself.";
      }
    });
  }
})();
