"""Shared test helpers and the suite's skip policy.

WAT text is assembled with ``wasm-tools`` (see ``wasm_text.py``). Everything ``make test`` installs
is required: a test that cannot find it fails. The only legitimate skips are for a platform the
test does not apply to or an optional peer; their reasons start with one of ``ALLOWED_SKIP_PREFIXES``.
Under ``CI=true`` any other skip is turned into a failure, so a missing dependency can never make
the suite green by skipping.
"""

from __future__ import annotations

import os
from collections.abc import Generator
from typing import Any

import pytest

from wasm_text import wat2wasm

#: Reason prefixes of skips that are legitimate in a full CI run.
ALLOWED_SKIP_PREFIXES = ("platform:", "optional:")


@pytest.fixture
def wat():
    return wat2wasm


def _skip_reason(longrepr: Any) -> str:
    # A skip's longrepr is (file, line, "Skipped: reason").
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        reason = str(longrepr[2])
        return reason.removeprefix("Skipped: ")
    return str(longrepr)


def _unexpected_skip(report: pytest.TestReport | pytest.CollectReport) -> str | None:
    if os.environ.get("CI") != "true" or not report.skipped:
        return None
    if getattr(report, "wasxfail", None) is not None:
        return None
    reason = _skip_reason(report.longrepr)
    if reason.startswith(ALLOWED_SKIP_PREFIXES):
        return None
    return reason


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    reason = _unexpected_skip(report)
    if reason is not None:
        report.outcome = "failed"
        report.longrepr = f"unexpected skip under CI=true (allowed prefixes {ALLOWED_SKIP_PREFIXES}): {reason}"


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector: pytest.Collector) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    reason = _unexpected_skip(report)
    if reason is not None:
        report.outcome = "failed"
        report.longrepr = f"unexpected module skip under CI=true (allowed prefixes {ALLOWED_SKIP_PREFIXES}): {reason}"
