"""axe-core in the browser tests: the pinned copy from npm (package-lock.json), injected by Playwright."""

from pathlib import Path

from playwright.sync_api import BrowserContext, Page

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
# Every rule axe runs by default (WCAG 2.0-2.2 A/AA and best practices), at any impact.
AXE_OPTIONS = {"resultTypes": ["violations"]}


def install_axe(context: BrowserContext) -> None:
    """Make axe available on every page of `context`.

    An init script runs outside the page's Content-Security-Policy, which
    refuses inline script, so the site's own policy stays as it is.
    """
    if not AXE_JS.exists():
        raise RuntimeError(f"{AXE_JS} is missing: `make test` installs it (npm ci)")
    context.add_init_script(path=str(AXE_JS))


def axe_violations(page: Page, label: str) -> list[str]:
    """Run axe on the page as it is now; return one line per failing node: page, rule, node."""
    result = page.evaluate("options => axe.run(document, options)", AXE_OPTIONS)
    return [
        f"{label} {page.url}: {violation['id']} ({violation['impact']}) {violation['help']}\n"
        f"    node {' '.join(map(str, node['target']))}: {node['html'][:200]}\n"
        f"    {node.get('failureSummary', '').strip()[:300]}"
        for violation in result["violations"]
        for node in violation["nodes"]
    ]


def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the viewport (0: no sideways scroll)."""
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
