"""The proof's server-log check: a conflict Odoo's request retry ran again is not an error line;
one whose retries ran out, or that no retry followed, still is."""

from tests.proof.harness import _problem, retried_conflict_lines

BAD_QUERY = ("2026-12-04 18:37:34,714 {pid} ERROR proof_db odoo.sql_db: bad query: b' UPDATE \"omni_exception\"\\n"
             "   SET \"state\" = \"__tmp\".\"state\"::VARCHAR'")
CONFLICT = "ERROR: could not serialize access due to concurrent update"
RETRY = ("2026-12-04 18:37:34,716 {pid} INFO proof_db odoo.service.model: SERIALIZATION_FAILURE, 4 tries left, "
         "try again in 1.2345 sec...")
OTHER = "2026-12-04 18:37:34,715 {pid} WARNING proof_db odoo.http: Only Omnichannel Managers can run this."
GAVE_UP = ("2026-12-04 18:37:50,000 {pid} INFO proof_db odoo.service.model: SERIALIZATION_FAILURE, "
           "maximum number of tries reached!")


def problems(lines):
    retried = retried_conflict_lines(lines)
    return [line for index, line in enumerate(lines) if index not in retried and _problem(line)]


def test_a_conflict_retried_by_the_same_process_is_not_an_error_line():
    lines = [BAD_QUERY.format(pid=11), CONFLICT, " ", OTHER.format(pid=12), RETRY.format(pid=11)]
    assert retried_conflict_lines(lines) == {0, 1}
    assert problems(lines) == []


def test_a_conflict_no_retry_followed_stays_an_error_line():
    # Another process's retry does not count; nor does a cron's conflict (crons do not retry this way).
    lines = [BAD_QUERY.format(pid=11), CONFLICT, RETRY.format(pid=12), OTHER.format(pid=11)]
    assert problems(lines) == [BAD_QUERY.format(pid=11), CONFLICT]


def test_a_conflict_whose_retries_ran_out_stays_an_error_line():
    lines = [BAD_QUERY.format(pid=11), CONFLICT, GAVE_UP.format(pid=11)]
    assert len(problems(lines)) == 2


def test_another_bad_query_is_an_error_line_even_when_a_retry_follows():
    lines = [BAD_QUERY.format(pid=11), "ERROR: relation \"nope\" does not exist", RETRY.format(pid=11)]
    assert len(problems(lines)) == 2
