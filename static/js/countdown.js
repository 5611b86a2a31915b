// Count down every [data-countdown-seconds] element once a second (session inspector).
(() => {
  "use strict";
  const started = Date.now();
  const items = [...document.querySelectorAll("[data-countdown-seconds]")].map((element) => ({
    element,
    seconds: Number(element.dataset.countdownSeconds),
  }));
  if (!items.length) return;
  setInterval(() => {
    const elapsed = Math.floor((Date.now() - started) / 1000);
    items.forEach(({ element, seconds }) => {
      element.textContent = String(Math.max(0, seconds - elapsed));
    });
  }, 1000);
})();
