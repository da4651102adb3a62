"""The viewer tests' fixtures: a page of Debian's chromium driven by Playwright (see ``_browser.py``)."""

from tests.engine.viewer._browser import page  # noqa: F401 - a fixture, found by pytest here
