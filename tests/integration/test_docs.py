"""The source tree keeps its promises to administrators and builders: every directive in
the module's command table has its section in docs/configuration.md and its row in the
directive table; every log tag is written at one call site only and explained in
docs/troubleshooting.md; the three build files list the same sources; the pure parts
include no httpd header."""

import re

from rai_harness import REPO_ROOT

SOURCES = sorted(REPO_ROOT.glob("*.c"))
HTTPD_HEADERS = re.compile(r'#include\s+"(httpd|http_\w+|ap_\w+|util_\w+|mod_\w+)\.h"')


def directives():
    text = (REPO_ROOT / "mod_rai_embed_config.c").read_text()
    names = re.findall(r'AP_INIT_\w+\("(\w+)"', text)
    assert len(names) >= 14
    return names


def test_directives_documented():
    reference = (REPO_ROOT / "docs" / "configuration.md").read_text()
    for name in directives():
        assert re.search(r"^### %s$" % name, reference, re.M), name
        assert re.search(r"^\| `%s[ `]" % name, reference, re.M), name


def log_tags():
    """Each tag with the number of places that write it."""
    counts = {}
    for source in SOURCES:
        for tag in re.findall(r'"(RAI\d{4}):', source.read_text()):
            counts[tag] = counts.get(tag, 0) + 1
    return counts


def test_log_tags_documented():
    guide = (REPO_ROOT / "docs" / "troubleshooting.md").read_text()
    tags = log_tags()
    assert len(tags) >= 15
    for tag in sorted(tags):
        assert re.search(r"^### %s$" % tag, guide, re.M), tag


def test_one_call_site_per_log_tag():
    shared = {tag: n for tag, n in log_tags().items() if n > 1}
    assert not shared, "log tags written at more than one place: %s" % shared


def listed(path, pattern):
    text = (REPO_ROOT / path).read_text().replace("\\\n", " ")
    match = re.search(pattern, text, re.M)
    assert match, (path, pattern)
    return sorted(re.findall(r"([\w]+)\.(?:c|lo)\b", match.group(1)))


def test_build_files_list_the_same_sources():
    on_disk = sorted(p.stem for p in SOURCES)
    assert listed("Makefile", r"^SOURCES\s*=(.*)$") == on_disk
    assert listed("config.m4", r'^rai_embed_objs="([^"]*)"') == on_disk
    assert listed("modules.mk", r"^rai_embed_objs\s*=(.*)$") == on_disk


def test_pure_parts_know_nothing_of_httpd():
    for source in REPO_ROOT.glob("rai_*.[ch]"):
        assert not HTTPD_HEADERS.search(source.read_text()), source.name
