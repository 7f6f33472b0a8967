"""The finding's sample: at most MAX_SAMPLE_ROWS rows, and the total counted before the cut."""

import pytest

from minimarket_ops.finding import MAX_SAMPLE_ROWS, CheckFailed, FindingRecorder
from minimarket_ops.masking import Redactor
from minimarket_ops.vocabulary import Severity


def recorder() -> FindingRecorder:
    return FindingRecorder("some_check", Severity.alta, Redactor([]))


def test_rows_handed_in_are_counted_before_the_sample_is_cut():
    with pytest.raises(CheckFailed) as e:
        recorder().fail(measured="offending rows", value=14, threshold="0", remediation="fix them",
                        rows=({"id": i} for i in range(14)))
    f = e.value.finding
    assert len(f.rows) == MAX_SAMPLE_ROWS and f.rows_total == 14
    assert f"sample ({MAX_SAMPLE_ROWS} of 14)" in f.message()


def test_a_total_from_sql_wins_and_no_rows_means_no_total():
    with pytest.raises(CheckFailed) as e:
        recorder().fail(measured="m", value=500, threshold="0", remediation="r", rows=[{"id": 1}], rows_total=500)
    assert e.value.finding.rows_total == 500
    with pytest.raises(CheckFailed) as e:
        recorder().fail(measured="m", value=1, threshold="0", remediation="r")
    assert e.value.finding.rows_total is None
