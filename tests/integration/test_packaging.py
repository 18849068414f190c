"""The packaging keeps its promises: debian/rai_embed.conf names every directive of the
command table and changes nothing when enabled; rai_embed.load loads the module once and
lets a2enmod enable socache_shmcb; the package version is the one in rai_version.h."""

import re
import subprocess

from rai_harness import REPO_ROOT

DEBIAN = REPO_ROOT / "debian"


def directives():
    names = []
    for source in sorted(REPO_ROOT.glob("mod_rai_embed*.c")):
        names += re.findall(r'AP_INIT_\w+\("(\w+)"', source.read_text())
    assert len(names) >= 14
    return names


def test_conf_lists_every_directive_commented_out():
    lines = (DEBIAN / "rai_embed.conf").read_text().splitlines()
    assert lines[0] == "<IfModule rai_embed_module>" and lines[-1] == "</IfModule>"
    for line in lines[1:-1]:
        assert line == "" or line.startswith("#"), line
    text = "\n".join(lines)
    for name in directives():
        assert re.search(r"^#%s[ \n]" % name, text, re.M), name


def test_load_file():
    lines = (DEBIAN / "rai_embed.load").read_text().splitlines()
    assert "# Depends: socache_shmcb" in lines
    assert [line for line in lines if line.startswith("LoadModule")] == [
        "LoadModule rai_embed_module /usr/lib/apache2/modules/mod_rai_embed.so"]


def test_package_version_is_the_source_version():
    subprocess.run(["sh", str(REPO_ROOT / "scripts" / "check-version.sh")], check=True)
