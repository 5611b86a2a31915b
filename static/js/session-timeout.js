// Idle-timeout warning (NIST 800-63B §5.2): warn before the server ends the
// session, let the user stay, and keep every open tab of this site in step.
// The server decides; this script only asks it (the status poll is not
// activity) and shows what it says.
(() => {
  "use strict";
  const dialog = document.getElementById("session-timeout");
  if (!dialog) return;

  const { statusUrl, extendUrl, loginUrl } = dialog.dataset;
  const warnBefore = Number(dialog.dataset.warnBefore) * 1000;
  const countdown = dialog.querySelector("[data-countdown]");
  const extendForm = dialog.querySelector("form[data-extend]");
  const csrfToken = extendForm.querySelector("input[name=csrfmiddlewaretoken]").value;
  const channel = "BroadcastChannel" in window ? new BroadcastChannel("shopdemo-session") : null;

  let deadline = Date.now() + Number(dialog.dataset.idleExpiresIn) * 1000;
  let confirmed = false; // has the server confirmed the current deadline since it came near?
  let timer = null;
  let endsFor = "idle"; // the limit the current deadline belongs to
  let leaving = false;
  const TYPING_TOLD_EVERY = 60000;

  const format = (ms) => {
    const seconds = Math.max(0, Math.ceil(ms / 1000));
    return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
  };

  // `reason` (idle, absolute, hijack) makes the sign-in page say why; none for a plain sign-out.
  function leave(reason) {
    if (leaving) return; // a second navigation would replace the first one's reason
    leaving = true;
    clearTimeout(timer);
    const query = new URLSearchParams({ next: window.location.pathname + window.location.search });
    if (reason) query.set("ended", reason);
    window.location.assign(`${loginUrl}?${query}`);
  }

  // `broadcast`: only activity (extending) is news for the other tabs. Passing on
  // a status poll made every tab that heard it poll and pass it on in turn: a loop.
  function apply(state, { broadcast = false } = {}) {
    if (!state.authenticated) {
      // Only the first request after expiry is told why (the server then deletes the
      // row); another tab asking at the same moment knows why from its own deadline.
      const reason = state.ended || (Date.now() >= deadline ? endsFor : null);
      if (channel) channel.postMessage({ signedOut: true, reason });
      leave(reason);
      return;
    }
    // The API rounds down: "0 s left" means the server still accepts the session
    // for under a second, so look again in a second rather than at once.
    deadline = Date.now() + Math.max(1, state.idle_expires_in) * 1000;
    endsFor = state.absolute_expires_in !== null && state.absolute_expires_in <= state.idle_expires_in ? "absolute" : "idle";
    confirmed = true;
    if (broadcast && channel) channel.postMessage({ idleExpiresIn: state.idle_expires_in });
    tick();
  }

  async function ask(url, options) {
    const response = await fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrfToken },
      ...options,
    });
    return response.json();
  }

  function tick() {
    clearTimeout(timer);
    const left = deadline - Date.now();
    if (left <= warnBefore && !confirmed) {
      // Another tab or window may have been active: the server knows.
      ask(statusUrl).then((state) => apply(state)).catch(() => { confirmed = true; tick(); });
      return;
    }
    if (left <= 0) {
      ask(statusUrl).then((state) => apply(state)).catch(() => leave("idle"));
      return;
    }
    if (left <= warnBefore) {
      countdown.textContent = format(left);
      if (!dialog.open) dialog.showModal();
      timer = setTimeout(tick, 1000);
    } else {
      if (dialog.open) dialog.close();
      confirmed = false;
      timer = setTimeout(tick, Math.min(left - warnBefore, 60000));
    }
  }

  extendForm.addEventListener("submit", (event) => {
    event.preventDefault();
    ask(extendUrl, { method: "POST" }).then((state) => apply(state, { broadcast: true })).catch(() => extendForm.submit());
  });

  // Typing (an address at checkout, a quantity) is activity the server cannot see until
  // the form is sent: tell it, at most once a minute, so an idle expiry never eats the text.
  let lastTold = Date.now();
  document.addEventListener("input", (event) => {
    if (dialog.contains(event.target) || Date.now() - lastTold < TYPING_TOLD_EVERY) return;
    lastTold = Date.now();
    ask(extendUrl, { method: "POST" }).then((state) => apply(state, { broadcast: true })).catch(() => {});
  });

  if (channel) {
    channel.addEventListener("message", ({ data }) => {
      if (data.signedOut) {
        leave(data.reason);
        return;
      }
      // Activity elsewhere only ever moves the deadline later; the server is
      // asked again before any warning shows.
      deadline = Math.max(deadline, Date.now() + data.idleExpiresIn * 1000);
      confirmed = false;
      tick();
    });
    // A page load is activity the server recorded: tell the other tabs.
    channel.postMessage({ idleExpiresIn: Number(dialog.dataset.idleExpiresIn) });
    document.querySelectorAll("form[data-sign-out]").forEach((form) => form.addEventListener("submit", () => channel.postMessage({ signedOut: true, reason: null })));
  }
  tick();
})();
