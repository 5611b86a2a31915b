// Add to cart and change quantities without leaving the page. The forms work
// without this script (a plain POST and a redirect); with it, the same POST
// (CSRF token, request_id and all) goes by fetch with Accept: application/json,
// and the page keeps its scroll position and focus while the badge and a live
// region say what happened.
(() => {
  "use strict";
  const toast = document.querySelector("[data-toast]");
  if (!toast || !window.fetch) return;
  const cartUrl = toast.dataset.cartUrl;

  function say(message, { viewCart = false } = {}) {
    toast.replaceChildren();
    const list = document.createElement("ul");
    const item = document.createElement("li");
    item.className = "message success";
    item.append(message);
    if (viewCart) {
      const link = document.createElement("a");
      link.href = cartUrl;
      link.className = "message-action";
      link.textContent = "View cart";
      item.append(" ", link);
    }
    const close = document.createElement("button");
    close.type = "button";
    close.className = "link toast-close";
    close.dataset.toastClose = "";
    close.textContent = "Dismiss";
    item.append(" ", close);
    list.append(item);
    toast.append(list);
    toast.classList.add("toast");
    clearError();
  }

  function clearError() {
    document.querySelectorAll("[data-script-error], [data-testid=error]").forEach((node) => node.remove());
  }

  function showError(message) {
    clearError();
    const alert = document.createElement("p");
    alert.className = "message error";
    alert.setAttribute("role", "alert");
    alert.dataset.testid = "error";
    alert.dataset.scriptError = "";
    alert.textContent = message;
    toast.after(alert);
    toast.replaceChildren();
    toast.classList.remove("toast");
  }

  function setBadge(count) {
    document.querySelectorAll("[data-testid=cart-badge]").forEach((badge) => {
      badge.textContent = count;
    });
  }

  async function send(form, submitter) {
    const response = await fetch(form.action, {
      method: "POST",
      body: new FormData(form, submitter),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    const type = response.headers.get("Content-Type") || "";
    if (!type.includes("application/json")) throw new Error("not JSON");
    return { ok: response.ok, data: await response.json() };
  }

  // The add forms: the product page's, and the catalog's one form that every card's button submits.
  function showRoom(form, { product, in_cart: inCart, room }) {
    const quantity = form.querySelector("input[name=quantity][type=number]");
    if (quantity) {
      quantity.max = Math.max(room, 1);
      if (Number(quantity.value) > room && room > 0) quantity.value = room;
    }
    const hint = document.getElementById(`room-${product}`);
    if (hint) {
      hint.textContent = room ? `${inCart} in your cart; you can add ${room} more` : `${inCart} in your cart: the most you can order`;
    }
  }

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.matches("form[data-cart-add], form#add-to-cart") || form.dataset.plain) return;
    event.preventDefault();
    if (form.dataset.busy) return; // a double tap adds once
    form.dataset.busy = "1";
    try {
      const { ok, data } = await send(form, event.submitter);
      if (ok) {
        setBadge(data.count);
        form.querySelector("input[name=request_id]").value = data.request_id;
        say(data.message, { viewCart: true });
      } else {
        showError(data.error);
      }
      if ("room" in data) showRoom(form, data);
    } catch {
      // Let the server answer the plain way, with the same button (the catalog's names the product).
      form.dataset.plain = "1";
      form.requestSubmit(event.submitter);
    } finally {
      delete form.dataset.busy;
    }
  });

  // The cart's quantities: steppers that save as they change.
  const pending = new Set();

  function money(value) {
    return `€${value}`;
  }

  function showSums(data) {
    setBadge(data.count);
    for (const [product, total] of Object.entries(data.lines)) {
      const cell = document.querySelector(`[data-line-total="${product}"]`);
      if (cell) cell.textContent = money(total);
    }
    for (const name of ["subtotal", "shipping", "total"]) {
      const cell = document.querySelector(`[data-cart-${name}]`);
      if (cell) cell.textContent = name === "shipping" && Number(data.shipping) === 0 ? "Free" : money(data[name]);
    }
  }

  // One save at a time per line, in order; Enter after a typed quantity fires both "change" and
  // "submit", and the same quantity is sent once (a second remove would only find the line gone).
  const inFlight = new WeakMap();
  let leaving = false;

  function save(form) {
    const quantity = form.querySelector("input[name=quantity]").value;
    const last = inFlight.get(form);
    if (last && last.quantity === quantity) return last.saving;
    const saving = (last ? last.saving : Promise.resolve()).then(() => saveNow(form));
    inFlight.set(form, { quantity, saving });
    pending.add(saving);
    saving.finally(() => {
      pending.delete(saving);
      if (inFlight.get(form)?.saving === saving) inFlight.delete(form);
    });
    return saving;
  }

  async function saveNow(form) {
    form.dataset.saving = "1";
    try {
      const { ok, data } = await send(form);
      if (!ok) {
        showError(data.error);
        return false;
      }
      delete form.dataset.dirty;
      if (data.quantity === 0) {
        const row = form.closest("tr");
        if (row.parentElement.rows.length === 1) {
          leaving = true;
          window.location.reload(); // the empty cart's page says what to do next
          return true;
        }
        row.remove();
      }
      showSums(data);
      say(data.message);
      return true;
    } catch {
      if (!leaving) form.submit(); // the plain way, unless the page is already reloading
      return false;
    } finally {
      delete form.dataset.saving;
    }
  }

  document.querySelectorAll("form[data-cart-update]").forEach((form) => {
    const quantity = form.querySelector("input[name=quantity]");
    const name = quantity.dataset.name;
    const step = (by, label) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "secondary stepper";
      button.textContent = by < 0 ? "−" : "+";
      button.setAttribute("aria-label", `${label} ${name}`);
      button.addEventListener("click", () => {
        const next = Number(quantity.value) + by;
        if (next < Number(quantity.min) || next > Number(quantity.max)) return;
        quantity.value = next;
        save(form);
      });
      return button;
    };
    quantity.before(step(-1, "One fewer"));
    quantity.after(step(1, "One more"));
    form.querySelector("button[type=submit]").hidden = true;
    quantity.addEventListener("input", () => { form.dataset.dirty = "1"; });
    quantity.addEventListener("change", () => { if (quantity.checkValidity()) save(form); });
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (quantity.checkValidity()) save(form);
      else quantity.reportValidity();
    });
  });

  // Check out only with what the cart shows: a typed quantity is saved first, and a refused one stops here.
  document.querySelectorAll("a[data-checkout]").forEach((link) => {
    link.addEventListener("click", async (event) => {
      const dirty = [...document.querySelectorAll("form[data-cart-update][data-dirty]:not([data-saving])")];
      if (!dirty.length && !pending.size) return;
      event.preventDefault();
      const saved = await Promise.all([...pending, ...dirty.map((form) => save(form))]);
      if (saved.every(Boolean) && !document.querySelector("form[data-cart-update][data-dirty]")) {
        window.location.assign(link.href);
      }
    });
  });

  toast.addEventListener("click", (event) => {
    if (event.target.matches("[data-toast-close]")) {
      toast.replaceChildren();
      toast.classList.remove("toast");
    }
  });
})();
