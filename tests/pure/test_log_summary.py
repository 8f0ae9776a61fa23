"""exception_summary: what a log line may say about an exception (never its message)."""

from omni_connector_base.pipeline.masking import exception_summary


class FakeDatabaseError(Exception):
    pgcode = "23505"


def _raise(error):
    raise error


PERSONAL = ("jane.doe@example.com", "Jane Doe", "Main St 1", "+49 170 1234567")


def test_summary_names_types_and_stack_not_the_message():
    # The data comes from variables, as in production: the stack quotes source lines, not values.
    try:
        try:
            _raise(FakeDatabaseError(f"Key (email)=({PERSONAL[0]}) already exists"))
        except FakeDatabaseError as inner:
            raise ValueError(", ".join(PERSONAL)) from inner
    except ValueError as error:
        summary = exception_summary(error)
    assert summary.startswith("ValueError <- FakeDatabaseError (SQLSTATE 23505)")
    assert "test_summary_names_types_and_stack_not_the_message" in summary, "the stack is kept"
    for personal in PERSONAL:
        assert personal not in summary


def test_summary_of_an_exception_never_raised():
    assert exception_summary(KeyError("jane@example.com")) == "KeyError"
