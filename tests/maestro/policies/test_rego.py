"""The Rego evaluator: convention, compiler messages, sandbox limits, hostile output, determinism."""

from __future__ import annotations

import os
import random
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from maestro.policies import rego
from maestro.policies.rego import Finding, RegoOutcome, compile_error, evaluate

HEAD = "package maestro.policy\n\nimport rego.v1\n\n"
LIMITS: dict[str, Any] = {"timeout_s": 5.0, "memory_bytes": 256 * 1024 * 1024}

FLAGS_POLICY = (
    HEAD
    + """
violations contains {"rule": "run-succeeded", "message": "the run did not succeed"} if {
    input.run.status != "succeeded"
}

violations contains {"rule": "sbom-declared", "message": sprintf("artifact %s declares no SBOM", [a.id])} if {
    some a in input.artifacts
    not a.flags.sbom_present
}

warnings contains {"rule": "large-artifact", "message": sprintf("artifact %s is over 1 MB", [a.id])} if {
    some a in input.artifacts
    a.size > 1000000
}
"""
)


def artifacts(n: int) -> list[dict[str, Any]]:
    return [{"id": f"a{i:02d}", "size": i * 100_000, "flags": {"sbom_present": i % 7 != 0}} for i in range(n)]


def run_input(status: str = "succeeded", n: int = 50) -> dict[str, Any]:
    return {"run": {"id": "r1", "status": status}, "artifacts": artifacts(n)}


@pytest.fixture(autouse=True)
def _fresh_pool() -> Iterator[None]:
    yield
    rego.shutdown()


def test_a_valid_module_compiles() -> None:
    assert compile_error(FLAGS_POLICY) is None


def test_violations_and_warnings_sorted_and_deduplicated() -> None:
    outcome = evaluate(FLAGS_POLICY, run_input("failed"), **LIMITS)
    assert outcome.error is None
    assert outcome.violations == (
        Finding("run-succeeded", "the run did not succeed"),
        *(
            Finding("sbom-declared", f"artifact a{i:02d} declares no SBOM")
            for i in (0, 7, 14, 21, 28, 35, 42, 49)
        ),
    )
    assert outcome.warnings == tuple(
        Finding("large-artifact", f"artifact a{i:02d} is over 1 MB") for i in range(11, 50)
    )


def test_an_array_with_duplicates_is_deduplicated() -> None:
    module = (
        HEAD
        + 'violations := [{"rule": "b", "message": "m"}, {"rule": "a", "message": "z"},\n'
        + '    {"rule": "b", "message": "m"}]\n'
    )
    outcome = evaluate(module, {}, **LIMITS)
    assert outcome == RegoOutcome(violations=(Finding("a", "z"), Finding("b", "m")))


def test_a_passing_input_gives_no_findings_and_warnings_are_optional() -> None:
    module = HEAD + 'violations contains {"rule": "r", "message": "m"} if input.bad\n'
    assert evaluate(module, {"bad": False}, **LIMITS) == RegoOutcome()
    assert evaluate(module, {"bad": True}, **LIMITS).violations == (Finding("r", "m"),)


def test_a_syntax_error_gives_the_compilers_message_with_its_position() -> None:
    message = compile_error(HEAD + "violations contains 1 if { x := 1 + }\n")
    assert message is not None
    assert message.startswith("policy.rego:5:")
    assert "Invalid arithmetic operator" in message


def test_an_unknown_function_is_a_compile_error() -> None:
    message = compile_error(HEAD + "violations contains x if { x := no_such_function(1) }\n")
    assert message is not None
    assert "policy.rego:5:" in message
    assert "Invalid rule reference" in message


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("", "must begin with `package maestro.policy`"),
        ("package other.policy\nviolations := []\n", "the module's package is other.policy"),
        (HEAD + "warnings := []\n", "defines no `violations` rule"),
        (HEAD + "# violations := []\nwarnings := []\n", "defines no `violations` rule"),
        (HEAD + 'msg := "violations := []"\n', "defines no `violations` rule"),
    ],
)
def test_a_module_breaking_the_convention_is_refused(module: str, expected: str) -> None:
    message = compile_error(module)
    assert message is not None
    assert expected in message
    outcome = evaluate(module, {}, **LIMITS)
    assert outcome.error is not None
    assert expected in outcome.error


def test_a_default_violations_rule_counts() -> None:
    module = HEAD + "default violations := []\n"
    assert compile_error(module) is None
    assert evaluate(module, {}, **LIMITS) == RegoOutcome()


def test_an_undefined_violations_is_an_error_not_a_pass() -> None:
    module = HEAD + 'violations := [{"rule": "r", "message": "m"}] if input.never\n'
    assert evaluate(module, {}, **LIMITS).error == "data.maestro.policy.violations is undefined"


def test_an_oversized_module_is_refused() -> None:
    module = HEAD + "violations := []\n" + "# padding\n" * (rego.MAX_MODULE_BYTES // 10)
    message = compile_error(module)
    assert message is not None
    assert "larger than" in message


@pytest.mark.parametrize(
    ("call", "reason"),
    [
        ('http.send({"method": "get", "url": "http://127.0.0.1:18400/"})', "network access"),
        ('http["send"]({"method": "get", "url": "http://127.0.0.1:18400/"})', "network access"),
        ('net.lookup_ip_addr("example.org")', "network access"),
        ('net.cidr_contains("10.0.0.0/8", "10.1.1.1")', "network access"),
        ("opa.runtime()", "environment"),
        ('opa["runtime"]()', "environment"),
        ("opa.runtime().env.HOME", "environment"),
        ("time.now_ns()", "nondeterministic"),
        ('rand.intn("x", 10)', "nondeterministic"),
        ('uuid.rfc4122("x")', "nondeterministic"),
    ],
)
def test_builtins_reaching_outside_are_refused_at_compile_and_evaluation(call: str, reason: str) -> None:
    module = HEAD + f'violations contains {{"rule": "x", "message": sprintf("%v", [{call}])}} if true\n'
    message = compile_error(module)
    assert message is not None
    assert message.startswith("policy.rego:5: ")
    assert "is not allowed" in message
    assert reason in message
    outcome = evaluate(module, {}, **LIMITS)
    assert outcome.error == message
    assert outcome.violations == ()


def test_denied_names_in_comments_and_strings_are_harmless() -> None:
    module = (
        HEAD
        + "# never call http.send\n"
        + 'violations contains {"rule": "r", "message": "no opa.runtime() here"} if true\n'
    )
    assert compile_error(module) is None
    assert evaluate(module, {}, **LIMITS).violations == (Finding("r", "no opa.runtime() here"),)


def test_a_call_that_escapes_the_static_check_still_reads_no_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Second line: the worker's query replaces the built-in, and its environment is empty anyway."""
    monkeypatch.setattr(rego, "static_error", lambda module: None)
    monkeypatch.setenv("MAESTRO_REGO_SECRET", "leaked")
    module = HEAD + 'violations contains {"rule": "env", "message": sprintf("%v", [opa.runtime()])} if true\n'
    outcome = evaluate(module, {}, **LIMITS)
    assert outcome.error is None
    assert outcome.violations == (Finding("env", "{}"),)
    escape = HEAD + (
        'violations contains {"rule": "env", "message": sprintf("%v", [x])} if {\n'
        "    x := opa.runtime() with opa.runtime as opa.runtime\n}\n"
    )
    assert "leaked" not in repr(evaluate(escape, {}, **LIMITS))
    network = (
        HEAD + 'violations contains {"rule": "net", "message": sprintf("%v", [http.send({})])} if true\n'
    )
    assert evaluate(network, {}, **LIMITS).violations == ()


def test_the_worker_starts_with_an_empty_environment_and_cannot_open_files() -> None:
    rego.warm_up()
    pool = rego._current_pool()
    worker = pool.acquire(5.0)
    try:
        pid = worker.process.pid
        with open(f"/proc/{pid}/environ", "rb") as environ:
            assert environ.read() == b""
        with open(f"/proc/{pid}/limits") as limits:
            text = limits.read()
        open_files = next(line for line in text.splitlines() if line.startswith("Max open files"))
        assert int(open_files.split()[3]) <= len(os.listdir(f"/proc/{pid}/fd"))
        if os.geteuid() == 0:  # unshare(CLONE_NEWNET) needs CAP_SYS_ADMIN: a namespace with no route out
            assert os.readlink(f"/proc/{pid}/ns/net") != os.readlink("/proc/self/ns/net")
    finally:
        pool.release(worker, healthy=True)


SLOW = HEAD + (
    "violations := {1 | some i in numbers.range(1, 5000); some j in numbers.range(1, 5000); i > j}\n"
)


def test_a_slow_module_is_stopped_at_the_limit_and_the_next_evaluation_works() -> None:
    rego.warm_up()  # time the limit, not a worker's start
    started = time.monotonic()
    outcome = evaluate(SLOW, {}, timeout_s=0.5, memory_bytes=LIMITS["memory_bytes"])
    elapsed = time.monotonic() - started
    assert outcome.error == "the Rego evaluation exceeded its 0.5 s time limit and was stopped"
    assert outcome.violations == ()
    assert 0.5 <= elapsed < 5
    assert evaluate(FLAGS_POLICY, run_input(), **LIMITS).error is None


def test_a_module_slow_to_compile_is_stopped_at_the_compile_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    many_rules = (
        HEAD
        + "violations := []\n"
        + "".join(f"r{i} := [x | some x in numbers.range(1, {i})]\n" for i in range(300))
    )  # rego-cpp takes about 0.3 s to compile this
    rego.warm_up()
    monkeypatch.setattr(rego, "COMPILE_TIMEOUT_S", 0.02)
    assert compile_error(many_rules) == "compiling the module exceeded its 0.02 s time limit and was stopped"
    monkeypatch.undo()
    assert compile_error(many_rules) is None
    assert compile_error(FLAGS_POLICY) is None


def test_a_memory_hog_is_refused_and_the_next_evaluation_works() -> None:
    hog = HEAD + "violations := {count(numbers.range(1, 100000000))}\n"
    outcome = evaluate(hog, {}, timeout_s=20.0, memory_bytes=64 * 1024 * 1024)
    assert (
        outcome.error
        == "the Rego evaluation was stopped: it needed more than its memory limit of 67108864 bytes"
    )
    assert evaluate(FLAGS_POLICY, run_input(), **LIMITS).error is None


def test_runaway_recursion_gives_an_error() -> None:
    module = HEAD + "f(x) := y if { y := f(x) }\n\nviolations := f(1)\n"
    outcome = evaluate(module, {}, **LIMITS)
    assert outcome.error is not None
    assert outcome.violations == ()
    assert evaluate(FLAGS_POLICY, run_input(), **LIMITS).error is None


def test_too_much_output_is_refused() -> None:
    module = HEAD + (
        'long := concat("", [s | some i in numbers.range(1, 200000); s := "xxxxxxxx"])\n'
        'violations := [{"rule": "r", "message": long}]\n'
    )
    outcome = evaluate(module, {}, **LIMITS)
    assert (
        outcome.error
        == f"the Rego evaluation produced more than {rego.MAX_OUTPUT_BYTES} bytes of output and was stopped"
    )


def test_an_oversized_or_non_json_input_is_refused() -> None:
    big = {"blob": "x" * (rego.MAX_INPUT_BYTES + 1)}
    assert (
        evaluate(FLAGS_POLICY, big, **LIMITS).error
        == f"the input document is larger than {rego.MAX_INPUT_BYTES} bytes"
    )
    outcome = evaluate(FLAGS_POLICY, {"when": object()}, **LIMITS)
    assert outcome.error is not None
    assert outcome.error.startswith("the input document is not JSON")
    assert evaluate(FLAGS_POLICY, {"x": float("nan")}, **LIMITS).error is not None


def test_an_integer_rego_cannot_hold_is_refused_not_wrapped() -> None:
    module = HEAD + 'violations contains {"rule": "n", "message": sprintf("%v", [input.n])} if true\n'
    assert evaluate(module, {"n": 2**63 - 1}, **LIMITS).violations == (Finding("n", str(2**63 - 1)),)
    outcome = evaluate(module, {"n": 2**70}, **LIMITS)
    assert outcome.violations == ()
    assert outcome.error is not None
    assert "outside the 64-bit range" in outcome.error


@pytest.mark.parametrize(
    ("limits", "expected"),
    [
        ({"timeout_s": 0, "memory_bytes": 1 << 28}, "timeout_s must be a positive number of seconds"),
        (
            {"timeout_s": float("inf"), "memory_bytes": 1 << 28},
            "timeout_s must be a positive number of seconds",
        ),
        ({"timeout_s": 1.0, "memory_bytes": 1024}, "memory_bytes must be an integer of at least 16 MiB"),
    ],
)
def test_bad_limits_are_an_error(limits: dict[str, Any], expected: str) -> None:
    assert evaluate(FLAGS_POLICY, {}, **limits).error == expected


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ("violations := 5", "violations must be a set or an array of objects, not a number"),
        ('violations := "none"', "violations must be a set or an array of objects, not a string"),
        (
            'violations := {"rule": "r", "message": "m"}',
            "violations must be a set or an array of objects, not an object",
        ),
        ("violations := [1]", 'violations[0] must be an object with "rule" and "message", not a number'),
        ('violations := [{"rule": "r"}]', 'violations[0] has no "message"'),
        ('violations := [{"message": "m"}]', 'violations[0] has no "rule"'),
        (
            'violations := [{"rule": "r", "message": 3}]',
            "violations[0].message must be a string, not a number",
        ),
        (
            'violations := [{"rule": ["r"], "message": "m"}]',
            "violations[0].rule must be a string, not an array",
        ),
        ('violations := [{"rule": "", "message": "m"}]', "violations[0].rule is empty"),
        (
            'violations := []\nwarnings := [{"rule": "w", "message": null}]',
            "warnings[0].message must be a string, not null",
        ),
        (
            "violations := []\nwarnings := true",
            "warnings must be a set or an array of objects, not a boolean",
        ),
        (
            'violations := [{"rule": "r", "message": "m"} | some i in numbers.range(1, 1001)]',
            "violations has 1001 entries; at most 1000 are allowed",
        ),
    ],
)
def test_hostile_output_shapes_give_a_clear_error(rules: str, expected: str) -> None:
    outcome = evaluate(HEAD + rules + "\n", {}, **LIMITS)
    assert outcome == RegoOutcome(error=expected)


def test_a_worker_killed_while_idle_is_replaced_without_failing_the_next_caller() -> None:
    rego.warm_up()
    pool = rego._current_pool()
    for worker in list(pool.idle):
        worker.process.kill()
        worker.process.wait()
    outcome = evaluate(FLAGS_POLICY, run_input("failed"), **LIMITS)
    assert outcome.error is None
    assert Finding("run-succeeded", "the run did not succeed") in outcome.violations


def test_a_caller_waits_for_a_free_worker_no_longer_than_its_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rego, "POOL_SIZE", 1)
    rego.shutdown()
    monkeypatch.setattr(rego, "_pool", None)
    pool = rego._current_pool()
    held = pool.acquire(5.0)
    try:
        started = time.monotonic()
        outcome = evaluate(FLAGS_POLICY, {}, timeout_s=0.3, memory_bytes=LIMITS["memory_bytes"])
        assert outcome.error == "every Rego worker stayed busy for 0.3 s; try again"
        assert 0.25 < time.monotonic() - started < 2
    finally:
        pool.release(held, healthy=True)
    assert evaluate(FLAGS_POLICY, run_input(), **LIMITS).error is None
    rego.shutdown()  # this pool's worker, before the fixture's pool comes back


def test_the_pool_serves_concurrent_callers() -> None:
    from concurrent.futures import ThreadPoolExecutor

    inputs = [run_input("failed" if i % 2 else "succeeded", n=10 + i) for i in range(8)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(lambda doc: evaluate(FLAGS_POLICY, doc, **LIMITS), inputs))
    for doc, outcome in zip(inputs, outcomes, strict=True):
        assert outcome.error is None
        failed = Finding("run-succeeded", "the run did not succeed") in outcome.violations
        assert failed == (doc["run"]["status"] == "failed")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), n=st.integers(min_value=0, max_value=60))
def test_shuffled_input_arrays_give_the_same_outcome(seed: int, n: int) -> None:
    doc = run_input("failed", n=n)
    expected = evaluate(FLAGS_POLICY, doc, **LIMITS)
    shuffled = dict(doc, artifacts=random.Random(seed).sample(doc["artifacts"], k=n))
    assert expected.error is None
    assert evaluate(FLAGS_POLICY, shuffled, **LIMITS) == expected
    assert list(expected.violations) == sorted(set(expected.violations))
