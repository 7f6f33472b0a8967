import re
import tempfile

import pytest

from checks.security._api_probes import RATE_LIMITED, reader_role
from minimarket_ops.finding import NotRun

# The response checks run on every sampled answer; none of them sends a request of its own.
CHECK_NAMES = ("not_a_server_error", "status_code_conformance", "content_type_conformance",
               "response_headers_conformance", "response_schema_conformance")
SAFE_METHODS = frozenset({"GET", "HEAD"})
_REQUIRED = re.compile(r'^"?([^"]+)"? is a required property')
MAX_DETAIL_CHARS = 240


def _checks():
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi import checks as oc

    found = {"not_a_server_error": not_a_server_error}
    found.update({name: getattr(oc, name) for name in CHECK_NAMES[1:]})
    return [(name, found[name]) for name in CHECK_NAMES]


def _security_headers(raw: dict) -> set[str]:
    """Header names the contract's security schemes use: generated junk there is replaced by
    the real credential, never sent."""
    names = {"authorization"}
    for scheme in ((raw.get("components") or {}).get("securitySchemes") or {}).values():
        if isinstance(scheme, dict) and scheme.get("type") == "apiKey" and scheme.get("in") == "header":
            names.add(str(scheme.get("name", "")).lower())
    return names


def _cases(operation, count: int, security: set[str]) -> list:
    """Up to `count` distinct positive examples (schema examples first), no shrinking, seeded."""
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis.configuration import set_hypothesis_home_dir
    from schemathesis.generation import GenerationMode

    drawn = []

    @settings(max_examples=count * 3, phases=[Phase.explicit, Phase.generate], database=None, deadline=None,
              derandomize=True, verbosity=Verbosity.quiet, suppress_health_check=list(HealthCheck))
    @given(operation.as_strategy(generation_mode=GenerationMode.POSITIVE))
    def draw(case):
        drawn.append(case)

    # Hypothesis caches what it learns under ./.hypothesis: a check leaves no files behind.
    with tempfile.TemporaryDirectory(prefix="mm-hypothesis-") as home:
        set_hypothesis_home_dir(home)
        try:
            draw()
        finally:
            set_hypothesis_home_dir(None)
    out, seen = [], set()
    for case in drawn:
        headers = {k: str(v) for k, v in (case.headers or {}).items() if k.lower() not in security}
        if any(not v.isascii() or any(ord(ch) < 32 for ch in v) for v in headers.values()):
            continue
        key = (case.formatted_path, repr(sorted((case.query or {}).items())), repr(sorted(headers.items())),
               repr(getattr(case, "body", None)))
        if key in seen:
            continue
        seen.add(key)
        out.append((case, headers))
        if len(out) == count:
            break
    return out


def _describe(failure) -> str:
    path = getattr(failure, "instance_path", None)
    if path is not None:  # a schema violation: where and which keyword, never the value
        where = "/" + "/".join(str(p) for p in path)
        keyword = str(list(failure.schema_path)[-1]) if list(failure.schema_path) else "schema"
        m = _REQUIRED.match(getattr(failure, "validation_message", "") or "")
        return f"{where}: {keyword}" + (f" {m.group(1)!r}" if keyword == "required" and m else "")
    status = getattr(failure, "status_code", None)
    return failure.title + (f" ({status})" if status is not None else "")


@pytest.mark.weekly
@pytest.mark.severity("alta")
def test_contract_conformance(api, settings, target, finding):
    """Sampled answers of the contract's operations: no 5xx, no undocumented status, bodies match their schemas (schemathesis)."""
    path = target.contract_path
    if path is None:
        pytest.skip(f"target {api.target_name} configures no contract document (targets.{api.target_name}.contract)")
    reader = reader_role(api)
    if reader is None:
        pytest.skip(f"target {api.target_name} configures no user JWT or service role key to read the API with")
    import schemathesis  # heavy: only this check needs it
    from schemathesis.core import NOT_SET
    from schemathesis.core.failures import Failure, FailureGroup

    cfg = settings.api_security
    schema = schemathesis.openapi.from_path(str(path))
    security = _security_headers(schema.raw_schema)
    operations = []
    for result in schema.get_all_operations():
        try:
            op = result.ok()
        except Exception as exc:  # an operation the document does not define correctly
            raise NotRun(f"contract {target.contract}: an operation cannot be read: {type(exc).__name__}") from None
        if target.allow_writes or op.method.upper() in SAFE_METHODS:
            operations.append(op)
    if not operations:
        pytest.skip(f"contract {target.contract} has no {'' if target.allow_writes else 'GET '}operation")
    cap = min(cfg.contract_max_requests_count, api.budget.remaining)
    if cap < len(operations):
        raise NotRun(f"{cap} requests left of the run's budget (api_security.contract_max_requests_count "
                     f"{cfg.contract_max_requests_count}) cannot give each of the {len(operations)} operations "
                     "one example")
    per_op = min(cfg.contract_examples_per_operation_count, cap // len(operations))
    checks = _checks()
    failing, sent, limited = [], 0, None
    for op in operations:
        label = f"{op.method.upper()} {op.path}"
        names, details, statuses, bad = set(), [], set(), 0
        cases = _cases(op, per_op, security)
        for case, headers in cases:
            kw = {}
            body = getattr(case, "body", NOT_SET)
            if body is not NOT_SET:
                if "json" not in (case.media_type or "application/json"):
                    continue  # only JSON bodies are sent (writes allowed only)
                kw["json"] = body
            r = api.request(op.method.upper(), case.formatted_path, role=reader, headers=headers,
                            params=case.query or None, **kw)
            sent += 1
            if r.status_code == RATE_LIMITED:
                limited = f"{label} answered 429" + (f" (Retry-After {r.headers['retry-after']} s)"
                                                      if "retry-after" in r.headers else "")
                break
            failed = False
            for name, check in checks:
                try:
                    case.validate_response(r, checks=[check])
                except (FailureGroup, Failure) as exc:
                    failures = exc.exceptions if isinstance(exc, FailureGroup) else (exc,)
                    failed = True
                    names.add(name)
                    details.extend(d for d in map(_describe, failures) if d not in details)
            if failed:
                bad += 1
                statuses.add(r.status_code)
        if names:
            detail = "; ".join(details)
            failing.append({
                "operation": label,
                "checks": ", ".join(n for n in CHECK_NAMES if n in names),
                "status": ", ".join(str(s) for s in sorted(statuses)),
                "examples": f"{bad} of {len(cases)} failed",
                "failure": detail if len(detail) <= MAX_DETAIL_CHARS else detail[:MAX_DETAIL_CHARS - 1] + "…",
            })
        if limited:
            break
    who = {"user": "a user's token", "service_role": "the service role key"}[reader]
    measured = (f"operations of {target.contract} not conforming ({len(operations)} "
                f"{'' if target.allow_writes else 'GET '}operations, up to {per_op} examples each, {sent} requests "
                f"with {who})")
    threshold = "every sampled answer conforms (no 5xx, documented status, content type, headers and schema)"
    if failing:
        finding.fail(
            measured=measured + (f"; stopped early: {limited}" if limited else ""),
            value=len(failing),
            threshold=threshold,
            rows=failing,
            remediation="Fix the function (or, if the change is intended, the contract document and its clients): "
            "each row names the operation, the failed schemathesis checks and where the answer differs",
            runbook="7.1",
        )
    if limited:
        raise NotRun(f"rate limited: {limited}; the request budget or the schedule is too dense for the target")
    finding.record(measured=measured, value=0, threshold=threshold, ok=True)
