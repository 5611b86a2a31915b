// Journeys in Firefox ESR over WebDriver BiDi (puppeteer-core, no browser download).
// Run by tests/browser/test_firefox.py against a live server:
//   node journeys.mjs <core|idle>   with BASE, SLUG, NAME, USERNAME, PASSWORD (idle: WARNING_MS)
// Prints one JSON line: {"problems": [...]} (axe violations, sideways scroll, failed steps).
import { readFileSync } from "node:fs";
import puppeteer from "puppeteer-core";

const env = process.env;
const AXE = readFileSync(new URL("../../../node_modules/axe-core/axe.min.js", import.meta.url), "utf8");
const problems = [];

async function check(page, label) {
  // Evaluated by the driver, outside the page's Content-Security-Policy.
  await page.evaluate(AXE);
  const violations = await page.evaluate(async () => {
    const result = await globalThis.axe.run(document, { resultTypes: ["violations"] });
    return result.violations.flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}): ${n.target.join(" ")}`));
  });
  for (const violation of violations) problems.push(`${label}: axe ${violation}`);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  if (overflow > 0) problems.push(`${label}: ${overflow} px sideways scroll at 360 px`);
}

async function expectText(page, selector, predicate, what, timeout = 5000) {
  try {
    await page.waitForFunction(
      (sel, source) => {
        const node = document.querySelector(sel);
        return node && new Function("text", `return ${source}`)(node.textContent.replace(/\s+/g, " ").trim());
      },
      { timeout },
      selector,
      predicate,
    );
  } catch {
    const seen = await page.evaluate((sel) => document.querySelector(sel)?.textContent.trim() ?? "(none)", selector);
    throw new Error(`${what}: ${selector} shows "${seen}" on ${page.url()}`);
  }
}

async function go(page, action) {
  await Promise.all([page.waitForNavigation(), action()]);
}

async function signOut(page) {
  await go(page, () => page.click("header form[data-sign-out] button"));
  await expectText(page, "[data-testid=auth-state]", 'text === "Guest"', "signed out");
}

const journeys = {
  async core(page) {
    await page.goto(`${env.BASE}/`);
    await expectText(page, "[data-testid=auth-state]", 'text === "Guest"', "a guest");
    await check(page, "catalog");
    await page.click(`[data-testid="add-${env.SLUG}"]`);
    await expectText(page, "[data-testid=cart-badge]", 'text === "1"', "added to the cart");
    await page.goto(`${env.BASE}/cart/`);
    await check(page, "cart");
    await go(page, () => page.click('main a[href="/checkout/"]'));
    if (!page.url().endsWith("/checkout/")) throw new Error(`checkout went to ${page.url()}`);
    await check(page, "guest checkout");
    await go(page, () => page.click("[data-testid=checkout-sign-in]"));
    if (!page.url().endsWith("/accounts/login/?next=/checkout/")) throw new Error(`sign in went to ${page.url()}`);
    await go(page, () => page.click('main a[href^="/accounts/register/"]'));
    await check(page, "register");
    await page.type("input[name=username]", env.USERNAME);
    await page.type("input[name=email]", `${env.USERNAME}@example.com`);
    await page.type("input[name=password1]", env.PASSWORD);
    await page.type("input[name=password2]", env.PASSWORD);
    await go(page, () => page.click("main form button[type=submit]"));
    if (!page.url().endsWith("/checkout/")) throw new Error(`registration went to ${page.url()}`);
    await expectText(page, "[role=status]", `text.includes("We carried your cart over: 1 × ${env.NAME}.")`, "cart carried");
    await expectText(page, "[data-testid=auth-state]", `text === "Signed in as ${env.USERNAME}"`, "signed in");
    await check(page, "checkout");
    await go(page, () => page.click("[data-testid=place-order]"));
    if (!/\/orders\/[A-Z0-9]+\/$/.test(page.url())) throw new Error(`the order went to ${page.url()}`);
    await expectText(page, "[role=status]", 'text.includes("is placed.")', "order placed");
    await check(page, "order");
    await signOut(page);
  },

  async idle(page) {
    await page.goto(`${env.BASE}/accounts/login/`);
    await page.type("input[name=username]", env.USERNAME);
    await page.type("input[name=password]", env.PASSWORD);
    await go(page, () => page.click("main form button[type=submit]"));
    await expectText(page, "[data-testid=auth-state]", `text === "Signed in as ${env.USERNAME}"`, "signed in");
    await page.waitForFunction(() => document.querySelector("dialog#session-timeout")?.open, {
      timeout: Number(env.WARNING_MS),
    });
    await expectText(page, "dialog#session-timeout h2", 'text === "Are you still there?"', "the idle warning");
    await check(page, "idle warning");
    await page.click("[data-testid=stay-signed-in]");
    await page.waitForFunction(() => !document.querySelector("dialog#session-timeout").open);
    const status = await page.evaluate(async () => (await fetch("/accounts/session/status/")).json());
    if (!status.authenticated) throw new Error("not signed in after 'Stay signed in'");
  },
};

const browser = await puppeteer.launch({
  browser: "firefox",
  protocol: "webDriverBiDi",
  executablePath: env.FIREFOX || "/usr/bin/firefox-esr",
  headless: true,
});
try {
  const page = await browser.newPage();
  await page.setViewport({ width: 360, height: 740 });
  await journeys[process.argv[2]](page);
} catch (error) {
  problems.push(`failed: ${error.message}`);
} finally {
  await browser.close();
}
console.log(JSON.stringify({ problems }));
