// Glue between shopdemo's pages and django-otp-webauthn's script (which does the ceremonies).
(() => {
  "use strict";

  // Sign-in page: the library's script posts only the passkey's answer, so the
  // "remember me" choice rides along as a short-lived cookie for the passkey endpoints.
  const remember = document.querySelector("[data-passkey-remember]");
  if (remember) {
    document.addEventListener("otp_webauthn.verification_start", () => {
      const secure = window.location.protocol === "https:" ? "; secure" : "";
      document.cookie = `passkey_remember=${remember.checked ? "1" : "0"}; path=/accounts/passkeys/; max-age=600; samesite=strict${secure}`;
    });
  }

  // Registration page: the second button only where the browser can make passkeys (else the password path alone).
  const signUpButton = document.querySelector("[data-passkey-sign-up-button]");
  if (signUpButton && typeof window.PublicKeyCredential === "function") signUpButton.hidden = false;

  // The passkey step of a registration: once the passkey is made, the account exists and is signed in.
  const signUp = document.querySelector("[data-passkey-sign-up]");
  if (signUp) {
    document.addEventListener("otp_webauthn.register_complete", () => window.location.assign(signUp.dataset.next));
  }

  // Adding a passkey that the server refused: the library's script says only that it
  // could not be verified; the server's answer says why (another site, expired: try again).
  const status = document.getElementById("passkey-register-status-message");
  if (status) {
    document.addEventListener("otp_webauthn.register_failed", async (event) => {
      const response = event.detail && event.detail.response;
      if (!response && signUp) {
        // Cancelled or refused by the browser: say what it means for the account.
        status.textContent = "No passkey was made, so no account was created. Try again, or use a password instead.";
        return;
      }
      if (!response || response.bodyUsed) return; // no answer, or one the library already showed
      let detail = "";
      try {
        detail = (await response.clone().json()).detail || "";
      } catch {
        // not JSON (a proxy's error page): the generic words below
      }
      status.textContent = detail || "The passkey could not be added. Try again.";
    });
  }

  // The one re-authentication screen: once the passkey has confirmed, the held action goes through.
  const held = document.querySelector("form[data-reauth-held]");
  if (held) document.addEventListener("otp_webauthn.verification_complete", () => held.submit());

  // Sign-in security page: once the new passkey is saved, give it the name typed beside the button.
  const naming = document.querySelector("form[data-passkey-name]");
  if (naming) {
    naming.addEventListener("submit", (event) => {
      // Enter in the name field means "add", not "rename passkey 0".
      if (!naming.dataset.passkeyId) {
        event.preventDefault();
        document.getElementById("passkey-register-button")?.click();
      }
    });
    document.addEventListener("otp_webauthn.register_complete", (event) => {
      naming.dataset.passkeyId = String(event.detail.id);
      naming.action = naming.action.replace(/\/0\/rename\/$/, `/${event.detail.id}/rename/`);
      naming.requestSubmit();
    });
  }
})();
