"""Fixtures for mod_rai_embed's integration tests.

  standin          (session) the token API stand-in; reset before every test
  httpd_factory    make(snippet="", mpm=..., modules=..., php=..., loglevel=..., env=...)
                   -> an Httpd in its own directory; stopped and checked after the test
  httpd            one Httpd made by httpd_factory with the defaults (event MPM)

After each test every httpd it made is stopped and its logs checked: no error-level line
the test did not declare (@pytest.mark.expect_error(regex, ...) or httpd.expect_error),
no crashed child, and the access key in no log file.  A failing test's report carries the
error logs; its files are kept under the run's directory (printed at the end).
"""

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from rai_harness import Httpd, Standin

# One directory per run, readable by www-data (pytest's own tmp_path is mode 0700).
RUN_DIR = None


def run_dir():
    global RUN_DIR
    if RUN_DIR is None:
        RUN_DIR = Path(tempfile.mkdtemp(prefix="rai-embed-tests-"))
        os.chmod(RUN_DIR, 0o755)
    return RUN_DIR


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "expect_error(regex, ...): error-log lines this test provokes on purpose")


def pytest_sessionfinish(session, exitstatus):
    if RUN_DIR is None:
        return
    if exitstatus == 0 and not os.environ.get("RAI_KEEP_TMP"):
        shutil.rmtree(RUN_DIR, ignore_errors=True)


def pytest_terminal_summary(terminalreporter):
    if RUN_DIR is not None and RUN_DIR.exists():
        terminalreporter.write_line("test httpd directories kept in %s" % RUN_DIR)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.failed:
        for httpd in getattr(item, "rai_httpds", ()):
            tail = "\n".join(httpd.error_log().splitlines()[-80:])
            report.sections.append(("httpd %s error log (tail)" % httpd.root, tail))


@pytest.fixture(scope="session")
def standin():
    server = Standin(run_dir() / "standin").start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _reset_standin(standin):
    standin.reset()


@pytest.fixture
def workdir(request):
    """A fresh directory for this test, readable by www-data."""
    name = re.sub(r"[^\w.-]+", "_", request.node.name)[:28]  # cgid socket paths are short
    path = Path(tempfile.mkdtemp(prefix=name + "-", dir=run_dir()))
    os.chmod(path, 0o755)
    return path


@pytest.fixture
def httpd_factory(request, workdir):
    made = []
    request.node.rai_httpds = made
    expected = [rx for marker in request.node.iter_markers("expect_error")
                for rx in marker.args]

    def make(snippet="", **options):
        httpd = Httpd(workdir / ("httpd%d" % len(made)), snippet, **options)
        for regex in expected:
            httpd.expect_error(regex)
        made.append(httpd)
        return httpd

    yield make

    problems = []
    for httpd in made:
        try:
            httpd.stop()
        except Exception as e:      # still check the logs of the others
            problems.append(str(e))
        problems += httpd.problems()
    if problems:
        pytest.fail("after the test:\n  " + "\n  ".join(problems), pytrace=False)


@pytest.fixture
def httpd(httpd_factory):
    return httpd_factory()
