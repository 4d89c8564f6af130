"""Rego evaluation benchmark: one realistic policy over a 50-artifact input, warm workers.

    .venv/bin/python bench/rego_eval.py [--evaluations N] [--artifacts N]

Times ``maestro.policies.rego.evaluate`` (the sandboxed worker: serialise the input, send
it, evaluate with rego-cpp, read and check the findings) and, beside it, the same query
run by regopy in this process without a sandbox (the ceiling: what the sandbox costs).
Also times a cold worker's first evaluation, and gives the CPU time per evaluation (this
process and the workers), which a loaded machine does not inflate as it does wall time.
Target (issue 10): p99 < 30 ms per evaluation.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maestro.policies import rego  # noqa: E402 - after the path set-up

TARGET_MS = 30.0
LIMITS: dict[str, Any] = {"timeout_s": 2.0, "memory_bytes": 256 * 1024 * 1024}

POLICY = """package maestro.policy

import rego.v1

kinds := {a.kind | some a in input.artifacts}

violations contains {
    "rule": "run-succeeded",
    "message": sprintf("run %s is %s", [input.run.id, input.run.status]),
} if {
    input.run.status != "succeeded"
}

violations contains {"rule": "sbom-verified", "message": "no SBOM whose content Maestro verified"} if {
    not any_verified("sbom")
}

violations contains {"rule": "provenance-covers", "message": sprintf("no provenance covers %s", [s])} if {
    some s in input.run.metadata.subjects
    not covered(s)
}

violations contains {
    "rule": "no-critical-findings",
    "message": sprintf("%s: %d critical", [a.id, a.evidence.critical]),
} if {
    some a in input.artifacts
    a.kind == "risk_assessment"
    a.evidence.critical > 0
}

warnings contains {"rule": "unsigned-artifact", "message": sprintf("%s is not signed", [a.id])} if {
    some a in input.artifacts
    not a.evidence.signed
}

warnings contains {"rule": "missing-kind", "message": sprintf("no %s artifact", [k])} if {
    some k in {"sbom", "provenance", "risk_assessment", "vex"}
    not k in kinds
}

any_verified(kind) if {
    some a in input.artifacts
    a.kind == kind
    a.evidence.verified
}

covered(subject) if {
    some a in input.artifacts
    a.kind == "provenance"
    a.evidence.verified
    subject in a.evidence.subject_digests
}
"""


def input_document(n: int) -> dict[str, Any]:
    kinds = ["sbom", "provenance", "risk_assessment", "junit", "sarif"]
    subjects = [f"sha256:{i:064x}" for i in range(3)]
    artifacts = []
    for i in range(n):
        kind = kinds[i % len(kinds)]
        evidence: dict[str, Any] = {"verified": i % 3 != 0, "signed": i % 4 != 0}
        if kind == "provenance":
            evidence["subject_digests"] = subjects[: 1 + i % 3]
        if kind == "risk_assessment":
            evidence["critical"] = 1 if i == 2 else 0
            evidence["high"] = i % 2
        artifacts.append(
            {
                "id": f"art-{i:04d}",
                "kind": kind,
                "sha256": f"{i:064x}",
                "size": 1000 * i,
                "declared": {
                    "sbom_present": True,
                    "slsa_provenance_present": True,
                    "risk_assessment_present": True,
                },
                "evidence": evidence,
            }
        )
    return {
        "run": {"id": "run-1", "status": "succeeded", "owner": "team", "metadata": {"subjects": subjects}},
        "artifacts": artifacts,
        "upstream": [],
        "evaluated_at": "2026-12-02T12:00:00Z",
    }


def percentile(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def workers_cpu_s() -> float:
    """User + system CPU of the pool's idle workers (all of them, between evaluations)."""
    total = 0.0
    for worker in rego._current_pool().idle:
        with open(f"/proc/{worker.process.pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def in_process(document: dict[str, Any], evaluations: int) -> list[float]:
    import json

    from regopy import Interpreter
    from regopy.rego_shared import rego_bundle_query, rego_free_output, rego_output_string

    interpreter = Interpreter()
    interpreter.add_module("policy.rego", POLICY)
    bundle = interpreter.build(rego.QUERY, [])
    samples = []
    for _ in range(evaluations):
        started = time.perf_counter()
        interpreter.set_input_term(json.dumps(document))
        impl = rego_bundle_query(interpreter._impl, bundle._impl)
        rego_output_string(impl)
        rego_free_output(impl)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--evaluations", type=int, default=1000)
    parser.add_argument("--artifacts", type=int, default=50)
    args = parser.parse_args()
    document = input_document(args.artifacts)

    error = rego.compile_error(POLICY)
    if error is not None:
        sys.exit(f"the benchmark policy does not compile: {error}")
    rego.shutdown()
    started = time.perf_counter()
    first = rego.evaluate(POLICY, document, **LIMITS)
    cold_ms = (time.perf_counter() - started) * 1000
    if first.error is not None:
        sys.exit(f"evaluation failed: {first.error}")
    rego.warm_up()
    for _ in range(50):
        rego.evaluate(POLICY, document, **LIMITS)

    sandboxed = []
    cpu_before = time.process_time() + workers_cpu_s()
    for _ in range(args.evaluations):
        started = time.perf_counter()
        rego.evaluate(POLICY, document, **LIMITS)
        sandboxed.append((time.perf_counter() - started) * 1000)
    cpu_ms = (time.process_time() + workers_cpu_s() - cpu_before) * 1000 / args.evaluations
    rego.shutdown()
    ceiling_started = time.process_time()
    ceiling = in_process(document, args.evaluations)
    ceiling_cpu_ms = (time.process_time() - ceiling_started) * 1000 / args.evaluations

    print(
        f"policy: {len(first.violations)} violations, {len(first.warnings)} warnings"
        f" over {args.artifacts} artifacts"
    )
    print(f"cold worker, first evaluation: {cold_ms:.1f} ms")
    print(f"{'':24} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'CPU ms':>8}")
    for name, samples, cpu in (
        ("sandboxed (evaluate)", sandboxed, cpu_ms),
        ("in-process regopy", ceiling, ceiling_cpu_ms),
    ):
        p50, p99 = percentile(samples, 50), percentile(samples, 99)
        print(f"{name:24} {p50:8.2f} {p99:8.2f} {statistics.fmean(samples):8.2f} {cpu:8.2f}")
    print(f"load average during the run: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    p99 = percentile(sandboxed, 99)
    verdict = "PASS" if p99 < TARGET_MS else "FAIL"
    print(f"p99 / {TARGET_MS:g} ms target: {p99 / TARGET_MS:.2f} x  {verdict}")


if __name__ == "__main__":
    main()
