"""The documentation's own rules: a short README, links that stay inside the repository and
resolve, and .env.example as the one settings reference."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").rglob("*.md"))]
ENV_EXAMPLE = ROOT / ".env.example"
SETTINGS = ROOT / "shopdemo" / "settings.py"
MAKEFILE = ROOT / "Makefile"

README_MAX_LINES = 250  # the README is the front door; the rest belongs in docs/
# Hosts a document may spell out in full: this machine, and the names reserved for examples.
LOCAL_HOSTS = re.compile(r"^(127\.0\.0\.1|localhost|(.+\.)?example\.(com|org|net))(:\d+)?$")

FENCE = re.compile(r"^(```|~~~)[^\n]*\n.*?^\1[ \t]*$", re.M | re.S)
CODE_SPAN = re.compile(r"`[^`\n]*`")
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\(\s*<?([^)\s>]*)>?(?:\s+\"[^\"]*\")?\s*\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$", re.M)
SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# A URL a reader could follow (connection URLs such as postgres://user@host are settings examples).
URL = re.compile(r"\bhttps?://(?:[^@/\s]+@)?([\w-]+(?:\.[\w-]+)*(?::\d+)?)", re.I)
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)
# What settings.py reads: env("NAME"), env.int("NAME", ...), env.db("NAME"), ...
SETTING_READ = re.compile(r"\benv(?:\.\w+)?\(\s*[\"']([A-Z][A-Z0-9_]*)[\"']")
ENV_LINE = re.compile(r"^#?\s?([A-Z][A-Z0-9_]*)=", re.M)
# A repository path named in a code span, e.g. `accounts/flows/sign_in.py` or `tests/browser/`.
REPO_DIRS = ("accounts", "cart", "shopdemo", "templates", "static", "tests", "bench", "scripts", "docs", ".ci")
REPO_PATH = re.compile(r"`((?:%s)/[\w./-]*)`" % "|".join(re.escape(d) for d in REPO_DIRS))
FILE_NAME = re.compile(r"[\w/-]+\.(?:py|html|md|sh|css|js|txt)\b")


def prose(text: str) -> str:
    """The text with code blocks and code spans removed: what a reader sees as links."""
    return CODE_SPAN.sub("", FENCE.sub("", text))


def link_targets(text: str) -> list[str]:
    body = prose(text)
    return INLINE_LINK.findall(body) + REFERENCE_LINK.findall(body)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[`*_]|\[([^\]]*)\]\([^)]*\)", r"\1", heading).strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(text: str) -> set[str]:
    seen: dict[str, int] = {}
    result = set()
    for heading in HEADING.findall(FENCE.sub("", text)):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def link_problem(document: Path, target: str) -> str | None:
    """Why `target`, linked from `document`, is not a link to a file of this repository (None: it is)."""
    if not target:
        return "empty link"
    if SCHEME.match(target) or target.startswith("//"):
        return f"{target}: leaves the repository (a URL)"
    if target.startswith("/"):
        return f"{target}: an absolute path (links must be relative)"
    path, _, fragment = target.partition("#")
    resolved = (document.parent / path).resolve() if path else document
    if not resolved.is_relative_to(ROOT):
        return f"{target}: leaves the repository"
    if not resolved.exists():
        return f"{target}: no such file"
    if fragment and resolved.suffix == ".md" and fragment not in anchors(resolved.read_text()):
        return f"{target}: no heading #{fragment} in {resolved.relative_to(ROOT)}"
    return None


def outside_mentions(text: str) -> list[str]:
    """Web URLs of other hosts, and parent-directory paths, anywhere in the text (code included)."""
    found = [match.group(0) for match in URL.finditer(text) if not LOCAL_HOSTS.match(match.group(1))]
    linked = set(link_targets(text))
    for match in re.finditer(r"(?<![\w.])\.\./[^\s)`'\"]*", text):
        if not any(match.group(0) in target for target in linked):
            found.append(match.group(0))
    return found


def missing_paths(text: str) -> list[str]:
    """Repository paths named in code spans that do not exist."""
    return [path for path in REPO_PATH.findall(FENCE.sub("", text)) if not (ROOT / path).exists()]


def layout_problems(text: str) -> list[str]:
    """Files named in the README's layout map that are not in the folder whose line names them."""
    section = text.split("## Where things are", 1)[1].split("\n## ", 1)[0]
    block = FENCE.search(section).group(0).splitlines()[1:-1]
    problems, folder = [], ""
    for line in block:
        heading = re.match(r"^(\S+/)\s", line)
        folder = heading.group(1) if heading else folder
        problems += [folder + file for file in FILE_NAME.findall(line) if not (ROOT / folder / file).exists()]
    return problems


def settings_read() -> set[str]:
    return set(SETTING_READ.findall(SETTINGS.read_text()))


def name(path: Path) -> str:
    return str(path.relative_to(ROOT))


def test_readme_is_short():
    lines = README.read_text().count("\n")
    assert lines < README_MAX_LINES, f"README.md has {lines} lines; move detail to docs/"


@pytest.mark.parametrize("document", DOCS, ids=name)
def test_every_link_resolves_inside_the_repository(document):
    problems = [link_problem(document, target) for target in link_targets(document.read_text())]
    assert [problem for problem in problems if problem] == []


@pytest.mark.parametrize("document", DOCS, ids=name)
def test_no_url_or_path_outside_the_repository(document):
    assert outside_mentions(document.read_text()) == []


@pytest.mark.parametrize("document", DOCS, ids=name)
def test_every_repository_path_named_exists(document):
    assert missing_paths(document.read_text()) == []


def test_layout_map_names_files_that_exist():
    assert layout_problems(README.read_text()) == []


def test_readme_quotes_what_make_run_prints():
    makefile = MAKEFILE.read_text()
    password = re.search(r"^DEMO_PASSWORD\s*\?=\s*(\S+)", makefile, re.M).group(1)
    recipe = re.search(r"^run:.*?\n(?:\t.*\n)+", makefile, re.M).group(0)
    banner = [line.replace("$(DEMO_PASSWORD)", password) for line in re.findall(r'^\t@echo "(.+)"$', recipe, re.M)]
    assert banner, "make run prints no banner any more"
    readme = README.read_text()
    assert [line for line in banner if line not in readme] == []


def test_readme_links_every_document_in_docs():
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in link_targets(README.read_text())}
    assert [name(doc) for doc in DOCS[1:] if doc.resolve() not in linked] == []


def test_every_setting_is_in_env_example_once_with_a_comment():
    lines = ENV_EXAMPLE.read_text().splitlines()
    listed = [ENV_LINE.match(line).group(1) for line in lines if ENV_LINE.match(line)]
    assert sorted(settings_read() - set(listed)) == [], "read by settings.py, missing from .env.example"
    assert sorted({n for n in listed if listed.count(n) > 1}) == [], "listed twice in .env.example"
    for number, line in enumerate(lines):
        match = ENV_LINE.match(line)
        if match:
            comment = lines[number - 1] if number else ""
            assert comment.startswith("# ") and not ENV_LINE.match(comment), f"{match.group(1)} has no comment above it"


class TestTheChecksCatch:
    """The rules above would fail on the mistakes they exist for."""

    def test_a_link_out_of_the_repository(self):
        assert "leaves the repository" in link_problem(README, "../other-project/SECURITY.md")
        assert "a URL" in link_problem(README, "https://github.com/someone/else/blob/main/README.md")
        assert "absolute path" in link_problem(README, "/etc/hosts")

    def test_a_missing_file_or_heading(self):
        assert "no such file" in link_problem(README, "docs/never-written.md")
        assert "no heading" in link_problem(README, "docs/sessions.md#no-such-section")
        assert link_problem(README, "docs/sessions.md#cookies") is None

    def test_links_in_code_are_not_links(self):
        assert link_targets("see [a](b.md), not `[c](d.md)`\n```\n[e](f.md)\n```\n") == ["b.md"]

    def test_outside_urls_and_parent_paths_in_text(self):
        text = "Read ../../shared/NOTES.md or https://github.com/x/y; serve on http://127.0.0.1:8000."
        assert outside_mentions(text) == ["https://github.com", "../../shared/NOTES.md"]
        assert outside_mentions("smtp+tls://user:pass@mail.example.com:587 and [env](../.env.example)") == []

    def test_heading_anchors_follow_github(self):
        assert slug("The values, and why [V7.1.1]") == "the-values-and-why-v711"
        assert slug("Watch it live: `/session/`") == "watch-it-live-session"
        assert anchors("# A\n## A\n```\n# not a heading\n```\n") == {"a", "a-1"}

    def test_a_path_or_layout_entry_that_moved(self):
        assert missing_paths("see `accounts/services.py` and `accounts/flows/sign_in.py`") == ["accounts/services.py"]
        layout = "## Where things are\n```text\naccounts/   models.py, services.py\n  reauth.py  x\n```\n"
        assert layout_problems(layout) == ["accounts/services.py", "accounts/reauth.py"]

    def test_settings_reads_are_found(self):
        found = SETTING_READ.findall('X = env.int("SESSION_IDLE_TIMEOUT", default=1)\nY = env("DEBUG")')
        assert found == ["SESSION_IDLE_TIMEOUT", "DEBUG"]


THREAT_MODEL = ROOT / "docs" / "threat-model.md"
ATTACKS = ROOT / "tests" / "attacks"


def threat_rows() -> list[list[str]]:
    """The threat model's table rows, as cells (the header and the rule left out)."""
    lines = THREAT_MODEL.read_text().splitlines()
    table = [line for line in lines if line.startswith("| ")][2:]
    return [[cell.strip() for cell in line.strip().strip("|").split(" | ")] for line in table]


def test_every_threat_has_an_attack_module_and_every_attack_module_a_threat():
    named = set()
    for row in threat_rows():
        modules = re.findall(r"`(tests/attacks/test_\w+\.py)`", row[-1])
        assert modules, f"no attack test for the threat {row[0]!r}"
        named.update(modules)
    present = {f"tests/attacks/{path.name}" for path in ATTACKS.glob("test_*.py")}
    assert named <= present, f"named but missing: {sorted(named - present)}"
    assert present <= named, f"in tests/attacks/ but no threat names it: {sorted(present - named)}"
