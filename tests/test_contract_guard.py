"""The suite-wide guard: a test during which an in-process simulator records a
contract violation fails, naming the operation and the field, unless it is
marked as provoking it on purpose."""

import pytest

pytest_plugins = ["pytester"]

PROVOKING_TEST = """
import pytest
from tests.sandbox.pagerduty.helpers import sim_client

{marker}
async def test_lists_with_a_bare_array_parameter():
    async with sim_client() as (client, sim):
        answer = await client.get("/incidents?statuses=triggered")
        assert answer.status_code == 400
"""

CONFTEST = (
    "from tests.conftest import in_process_simulators_keep_the_contract, "
    "pytest_configure\n"
)


def run(pytester: pytest.Pytester, marker: str) -> pytest.RunResult:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(PROVOKING_TEST.format(marker=marker))
    return pytester.runpytest_inprocess(
        "-p", "no:cacheprovider", "-o", "asyncio_mode=auto"
    )


# The inner runs share this process, so this test's own guard sees their
# simulator's violation too.
@pytest.mark.contract_violations
def test_an_unasked_violation_fails_the_test_naming_operation_and_field(
    pytester: pytest.Pytester,
) -> None:
    result = run(pytester, marker="")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        ["*1 PagerDuty contract violation(s)*", "*listIncidents*statuses*"]
    )


@pytest.mark.contract_violations
def test_a_marked_test_may_provoke_violations(pytester: pytest.Pytester) -> None:
    result = run(pytester, marker="@pytest.mark.contract_violations")
    result.assert_outcomes(passed=1)
