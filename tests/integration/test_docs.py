"""Every directive in the module's command table has its section in docs/configuration.md
and its row in the directive table, and every log tag the code writes is explained in
docs/troubleshooting.md."""

import re

from rai_harness import REPO_ROOT

SOURCES = sorted(REPO_ROOT.glob("*.c"))


def directives():
    text = (REPO_ROOT / "mod_rai_embed.c").read_text()
    names = re.findall(r'AP_INIT_\w+\("(\w+)"', text)
    assert len(names) >= 14
    return names


def test_directives_documented():
    reference = (REPO_ROOT / "docs" / "configuration.md").read_text()
    for name in directives():
        assert re.search(r"^### %s$" % name, reference, re.M), name
        assert re.search(r"^\| `%s[ `]" % name, reference, re.M), name


def test_log_tags_documented():
    guide = (REPO_ROOT / "docs" / "troubleshooting.md").read_text()
    tags = set()
    for source in SOURCES:
        tags.update(re.findall(r'"(RAI\d{4}):', source.read_text()))
    assert len(tags) >= 15
    for tag in sorted(tags):
        assert re.search(r"^### %s$" % tag, guide, re.M), tag
