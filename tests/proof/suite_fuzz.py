"""Suite 5, fuzz: generated requests against the custom API and every channel's webhook.

1. **Custom API** (``/omni/api/v1``): ``schemathesis`` reads the project's OpenAPI document
   (``omni_connector_base/static/api/openapi.json``) and generates cases for every operation,
   valid ones (``positive``) and invalid ones (``negative``: wrong types, missing fields, values
   out of range), against an API backend of the suite's own with a valid key (and, for a share of
   the cases, a wrong key or none). At least 2,000 cases in the full run. Usage of the key stays
   modest: one request at a time.
2. **Webhooks** (``/omni/webhook/<id>``): ``hypothesis`` generates bodies and headers for every
   channel that has webhooks: Shopify, WooCommerce, eBay (Marketplace Account Deletion) and the
   custom channel. Amazon has none (it sends notifications only to SQS/EventBridge; orders are
   polled): its route is asked once and must refuse (401). Bodies: random JSON of any shape,
   the channel's own order with fields replaced by garbage, deep nesting (up to 100,000 levels),
   huge numbers, JSON in UTF-16/Latin-1, invalid UTF-8, NUL bytes, random bytes; headers: random
   topics, ids, content types. Each body is sent either validly signed, badly signed, signed with
   another secret, or unsigned (Shopify also: signed, but for another shop). At least 10,000
   bodies in the full run.

Expected: no answer 5xx and no traceback in the server log (the run's last row); every bad
signature answered 401 (eBay: 412, its documented answer); every validly signed delivery
acknowledged; nothing half-stored (every stored event holds the exact body it was sent, and is
one a 200 answer named); every signed garbage payload ends ``dead`` or ``blocked`` with an open
exception, or ``skipped`` (a topic the connector does not handle), and never makes a sale order.
"""

import base64
import hashlib
import hmac
import json
import random
import time
import uuid
from collections import Counter
from http import client as http_client

from .harness import REPO, wait_until

SUITE = "5 fuzz"
OPENAPI = REPO / "omni_connector_base" / "static" / "api" / "openapi.json"
SECRET = "proof-fuzz-secret-0b7c"
SHOP = "proof-fuzz.myshopify.com"
CHANNELS = ("shopify", "woocommerce", "ebay", "custom")
BAD = {"ebay": 412}  # eBay's documented answer to a bad signature; everyone else 401

SETUP = r"""
company = env.company
warehouse = env["stock.warehouse"].search([("company_id", "=", company.id)], limit=1)
Backend = env["omni.backend"]
common = {"company_id": company.id, "warehouse_id": warehouse.id, "webhook_secret": P["secret"], "max_attempts": 2,
          "retry_base_delay": 1}
out = {}
out["shopify"] = Backend.create(dict(common, name="Proof fuzz Shopify", channel="shopify",
    shopify_shop_domain=P["shop"], shopify_access_token="shpat_fuzz", shopify_base_url=P["dead_url"])).id
out["woocommerce"] = Backend.create(dict(common, name="Proof fuzz WooCommerce", channel="woocommerce",
    woocommerce_store_url=P["dead_url"], woocommerce_consumer_key="ck_fuzz",
    woocommerce_consumer_secret="cs_fuzz")).id
out["ebay"] = Backend.create(dict(common, name="Proof fuzz eBay", channel="ebay", **P["ebay"])).id
out["custom"] = Backend.create(dict(common, name="Proof fuzz custom", channel="custom")).id
out["amazon"] = Backend.create(dict(common, name="Proof fuzz Amazon", channel="amazon")).id
api = Backend.create(dict(common, name="Proof fuzz API", channel="custom"))
api.payment_rule_ids.write({"create_invoice": False, "register_payment": False})
_key, full_key = env["omni.api.key"]._omni_generate(api, "proof fuzz")
out.update(api=api.id, api_key=full_key)
env.cr.commit()
_emit(out)
"""


def sizes(proof):
    """(schemathesis cases, webhook bodies per channel)"""
    if proof.quick:
        return 40, 25
    return proof.size(2400, 60), proof.size(2600, 60)


def run(proof, channels, **_kwargs):
    from tests.simulators.ebay_sim import EbaySimulator  # noqa: PLC0415

    ebay = EbaySimulator().start()
    try:
        setup = proof.shell(SETUP, {
            "secret": SECRET, "shop": SHOP, "dead_url": "http://127.0.0.1:9",
            "ebay": {"ebay_app_id": ebay.app_id, "ebay_cert_id": ebay.cert_id,
                     "ebay_refresh_token": ebay.refresh_token, "ebay_api_base_url": ebay.base_url,
                     "ebay_finances_base_url": ebay.base_url, "ebay_token_url": ebay.token_url,
                     "ebay_verification_token": "verification-token-for-the-proof-0123456789"}})
        api_cases, bodies = sizes(proof)
        ok = _api(proof, setup, api_cases)
        ok = _webhooks(proof, setup, bodies, ebay) and ok
    finally:
        ebay.stop()
    return ok


# =============================================================================== custom API
def _api(proof, setup, cases):
    import schemathesis  # noqa: PLC0415
    from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: PLC0415
    from schemathesis.generation import GenerationMode  # noqa: PLC0415

    schema = schemathesis.openapi.from_path(str(OPENAPI))
    operations = [result.ok() for result in schema.get_all_operations()]
    per = max(cases // (2 * len(operations)), 1)
    statuses, server_errors, failures = Counter(), [], Counter()
    rng = random.Random(proof.seed)
    base_url = proof.base_url
    sent = [0]
    began = time.monotonic()

    def make_check(operation, mode):
        strategy = operation.as_strategy(generation_mode=mode)

        @seed(proof.seed)
        @settings(max_examples=per, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck), derandomize=False)
        @given(case=strategy)
        def check(case):
            draw = rng.random()
            if "backend_id" in (case.path_parameters or {}) and draw < 0.85:
                case.path_parameters["backend_id"] = setup["api"]  # mostly our backend: past the 404
            headers = dict(case.headers or {})
            if draw < 0.75:
                headers["Authorization"] = f"Bearer {setup['api_key']}"
            elif draw < 0.85:
                headers["Authorization"] = "Bearer " + setup["api_key"][:-4] + "xxxx"
            case.headers = headers
            try:
                response = case.call(base_url=base_url, timeout=60)
            except Exception as error:  # a connection that broke is a finding
                server_errors.append(f"{operation.label}: no answer ({type(error).__name__})")
                return
            sent[0] += 1
            statuses[response.status_code] += 1
            if response.status_code >= 500:
                server_errors.append(f"{operation.label} {mode.value}: {response.status_code} "
                                     f"{response.text[:160]}")
            try:
                case.validate_response(response)
            except BaseException as error:  # schemathesis raises a FailureGroup (a BaseExceptionGroup)
                if isinstance(error, KeyboardInterrupt):
                    raise
                found = [line[2:].strip()[:90] for line in str(error).splitlines() if line.startswith("- ")]
                for failure in getattr(error, "exceptions", None) or [error]:
                    title = getattr(failure, "title", None) or type(failure).__name__
                    failures[str(title)[:90]] += 1
                if not getattr(error, "exceptions", None) and found:
                    failures[found[0]] += 1

        return check

    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            make_check(operation, mode)()
    wall = time.monotonic() - began
    ok = proof.figure(SUITE, "custom API: schemathesis cases (positive + negative) / answered 5xx",
                      f"{sent[0]} / {len(server_errors)}", f">= {cases if not proof.quick else 'a few'} / 0; "
                      f"{len(operations)} operations, {wall:.0f} s", not server_errors
                      and sent[0] >= (cases if not proof.quick else 1) * 0.9)
    for line in server_errors[:8]:
        print(f"      {line}")
    proof.figure(SUITE, "custom API: answers by status", ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())),
                 "", None)
    proof.figure(SUITE, "custom API: schemathesis conformance findings (not failures)",
                 "; ".join(f"{k}: {v}" for k, v in failures.most_common(4)) or "none",
                 "documented shape of 4xx answers", None)
    return ok


# ================================================================================ webhooks
def _sign(secret, body):
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


ORDER_SHAPES = {
    "shopify": REPO / "tests" / "fixtures" / "shopify" / "orders_create.json",
    "woocommerce": REPO / "tests" / "fixtures" / "woocommerce" / "order.json",
}


def _order_shape(channel):
    path = ORDER_SHAPES.get(channel)
    if path and path.exists():
        return json.loads(path.read_text())
    return {"resource": 1, "updated_at": "2026-11-21T08:00:00Z", "lines": [{"sku": "X", "qty": 1}]}


def strategies(channel):
    """Hypothesis strategy of ``(label, body bytes, extra headers)``."""
    from hypothesis import strategies as st  # noqa: PLC0415

    huge = st.one_of(st.integers(min_value=10 ** 18, max_value=10 ** 400), st.integers(max_value=-(10 ** 18)),
                     st.floats(allow_nan=False, allow_infinity=False, min_value=1e300))
    scalars = st.one_of(st.none(), st.booleans(), st.integers(), huge, st.floats(allow_nan=False),
                        st.text(max_size=20))
    trees = st.recursive(scalars, lambda kids: st.one_of(st.lists(kids, max_size=4),
                                                         st.dictionaries(st.text(max_size=8), kids, max_size=4)),
                         max_leaves=12)
    shape_text = json.dumps(_order_shape(channel))

    def corrupt(args):
        keys, garbage = args
        data = json.loads(shape_text)
        for key in keys:
            target = data
            if isinstance(target, dict) and target:
                name = sorted(target)[key % len(target)]
                target[name] = garbage
        return data

    corrupted = st.tuples(st.lists(st.integers(min_value=0, max_value=10 ** 6), min_size=1, max_size=4),
                          trees).map(corrupt)

    def as_json(value):
        return ("json", json.dumps(value, allow_nan=True).encode())

    def deep(args):
        depth, kind = args
        opening, closing = ("[", "]") if kind else ('{"a":', "}")
        return ("deep", (opening * depth + "1" + closing * depth).encode())

    def encoded(args):
        value, codec = args
        text = json.dumps(value, ensure_ascii=False)
        try:
            return (f"encoding {codec}", text.encode(codec, errors="replace"))
        except LookupError:
            return ("encoding", text.encode())

    def with_nul(args):
        value, where = args
        body = json.dumps(value).encode()
        where = where % (len(body) + 1)
        return ("nul", body[:where] + b"\x00" + body[where:])

    bodies = st.one_of(
        trees.map(as_json),
        corrupted.map(as_json),
        st.tuples(st.sampled_from([10, 1000, 5000, 100_000]), st.booleans()).map(deep),
        huge.map(lambda number: ("huge", json.dumps({"id": number, "total_price": number,
                                                     "line_items": [{"quantity": number}]}).encode())),
        st.tuples(trees, st.sampled_from(["utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252"])).map(encoded),
        st.binary(max_size=300).map(lambda raw: ("bytes", raw)),
        st.tuples(trees, st.integers(min_value=0)).map(with_nul),
        st.just(("invalid utf-8", b'{"id": "\xff\xfe\xc3\x28", "note": "\xed\xa0\x80"}')),
        st.just(("empty", b"")),
    )
    header_text = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=255, exclude_characters="\r\n"),
                          max_size=60)
    topics = {
        "shopify": ["orders/create", "orders/updated", "orders/cancelled", "refunds/create", "app/uninstalled",
                    "inventory_levels/update"],
        "woocommerce": ["order.created", "order.updated", "order.deleted", "order.restored", "product.created"],
        "ebay": ["MARKETPLACE_ACCOUNT_DELETION"],
        "custom": ["test.event", "orders/create"],
    }[channel]
    headers = st.fixed_dictionaries({}, optional={
        "topic": st.one_of(st.sampled_from(topics), header_text),
        "content_type": st.sampled_from(["application/json", "text/plain", "application/x-www-form-urlencoded",
                                         "application/json; charset=utf-16", "multipart/form-data", ""]),
        "id": st.one_of(st.uuids().map(str), header_text),
        "extra": header_text,
    })
    modes = ["valid", "valid", "bad", "missing", "other secret"] + (["other shop"] if channel == "shopify" else [])
    return st.tuples(bodies, headers, st.sampled_from(modes))


def build_request(channel, backend_id, body, fuzz_headers, mode, ebay):
    """The POST of one case: path, headers (signed per ``mode``)."""
    headers = {"Content-Type": fuzz_headers.get("content_type", "application/json") or "application/json"}
    if "extra" in fuzz_headers:
        headers["X-Proof-Fuzz"] = fuzz_headers["extra"]
    secret = SECRET if mode != "other secret" else SECRET + "-other"
    signature = _sign(secret, body)
    if mode == "bad":
        signature = base64.b64encode(hashlib.sha256(body + b"x").digest()).decode()
    delivery_id = fuzz_headers.get("id") or str(uuid.uuid4())
    if channel == "shopify":
        headers.update({"X-Shopify-Topic": fuzz_headers.get("topic", "orders/create"),
                        "X-Shopify-Shop-Domain": SHOP if mode != "other shop" else "other-shop.myshopify.com",
                        "X-Shopify-Webhook-Id": delivery_id, "X-Shopify-API-Version": "2025-10",
                        "X-Shopify-Triggered-At": "2026-12-03T10:00:00.000Z"})
        if mode != "missing":
            headers["X-Shopify-Hmac-Sha256"] = signature
    elif channel == "woocommerce":
        headers.update({"X-WC-Webhook-Topic": fuzz_headers.get("topic", "order.created"),
                        "X-WC-Webhook-Resource": "order", "X-WC-Webhook-Event": "created",
                        "X-WC-Webhook-ID": "7", "X-WC-Webhook-Delivery-ID": delivery_id,
                        "X-WC-Webhook-Source": "https://proof-fuzz.example/"})
        if mode != "missing":
            headers["X-WC-Webhook-Signature"] = signature
    elif channel == "ebay":
        if mode == "valid":
            headers["X-EBAY-SIGNATURE"] = ebay.sign_notification(body)
        elif mode in ("bad", "other secret"):
            headers["X-EBAY-SIGNATURE"] = base64.b64encode(json.dumps(
                {"alg": "ECDSA", "kid": ebay.notification_kid, "signature": signature,
                 "digest": "SHA1"}).encode()).decode()
    else:
        headers.update({"X-Omni-Topic": fuzz_headers.get("topic", "test.event"), "X-Omni-Event-Id": delivery_id})
        if mode != "missing":
            headers["X-Omni-Hmac-Sha256"] = signature
    return f"/omni/webhook/{backend_id}", headers


class Sender:
    def __init__(self, proof):
        self.proof = proof
        self.conn = None

    def post(self, path, body, headers):
        for _attempt in range(2):
            if self.conn is None:
                self.conn = http_client.HTTPConnection("127.0.0.1", self.proof.server.port, timeout=120)
            try:
                self.conn.request("POST", path, body=body, headers=headers)
                response = self.conn.getresponse()
                text = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return response.status, text
            except (OSError, http_client.HTTPException):
                self.conn.close()
                self.conn = None
        return 0, b""


def _webhooks(proof, setup, per_channel, ebay):
    from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: PLC0415

    sender = Sender(proof)
    results = {channel: [] for channel in CHANNELS}
    began = time.monotonic()
    def make_send(channel, backend_id):
        @seed(proof.seed)
        @settings(max_examples=per_channel, database=None, deadline=None, phases=[Phase.generate],
                  suppress_health_check=list(HealthCheck))
        @given(case=strategies(channel))
        def send(case):
            (label, body), fuzz_headers, mode = case
            if channel == "woocommerce" and body.lstrip().startswith(b"webhook_id"):
                return  # a WooCommerce creation ping is accepted unsigned by design
            path, headers = build_request(channel, backend_id, body, fuzz_headers, mode, ebay)
            status, text = sender.post(path, body, headers)
            try:
                answer = json.loads(text or b"{}")
            except ValueError:
                answer = {}
            results[channel].append({"label": label, "mode": mode, "status": status, "body": body,
                                     "event_id": answer.get("event_id") if isinstance(answer, dict) else None,
                                     "answer": answer.get("status") if isinstance(answer, dict) else None})

        return send

    for channel in CHANNELS:
        make_send(channel, setup[channel])()
    intake = time.monotonic() - began
    # Amazon: no webhook (SQS/EventBridge only): the route refuses
    amazon_status, _text = sender.post(f"/omni/webhook/{setup['amazon']}", b'{"NotificationType": "ORDER_CHANGE"}',
                                       {"Content-Type": "application/json"})
    backends = [setup[channel] for channel in CHANNELS]
    drained = wait_until(lambda: not proof.scalar(
        "SELECT count(*) FROM omni_event WHERE backend_id = ANY(%s) AND state IN ('pending', 'retry')",
        (backends,)), timeout=240 if proof.quick else 1800, interval=2)
    ok = True
    total = sum(len(rows) for rows in results.values())
    five = [(channel, row) for channel, rows in results.items() for row in rows if row["status"] >= 500
            or row["status"] == 0]
    ok = proof.figure(SUITE, "webhooks: bodies sent (hypothesis) / answered 5xx or not at all",
                      f"{total} / {len(five)}", f">= {per_channel * len(CHANNELS) if not proof.quick else 'a few'}"
                      f" / 0; {', '.join(f'{c} {len(r)}' for c, r in results.items())}; {intake:.0f} s",
                      not five and total >= per_channel * len(CHANNELS) * 0.9) and ok
    for channel, row in five[:8]:
        print(f"      {channel} {row['label']} {row['mode']}: {row['status']}")
    kinds = Counter(row["label"].split(" ")[0] for rows in results.values() for row in rows)
    proof.figure(SUITE, "webhooks: bodies by kind", ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())), "",
                 None)
    wrong_refusal = [(channel, row) for channel, rows in results.items() for row in rows
                     if row["mode"] not in ("valid",) and row["status"] != BAD.get(channel, 401)]
    refused = sum(1 for rows in results.values() for row in rows if row["mode"] != "valid")
    ok = proof.figure(SUITE, "webhooks: bad, missing or foreign signatures not answered 401 (eBay 412)",
                      f"{len(wrong_refusal)} of {refused}", "0", not wrong_refusal) and ok
    for channel, row in wrong_refusal[:8]:
        print(f"      {channel} {row['label']} {row['mode']}: {row['status']} {row['answer']}")
    signed = [(channel, row) for channel, rows in results.items() for row in rows if row["mode"] == "valid"]
    not_acked = [(channel, row) for channel, row in signed if row["status"] != 200]
    ok = proof.figure(SUITE, "webhooks: validly signed deliveries not acknowledged 200",
                      f"{len(not_acked)} of {len(signed)}", "0", not not_acked) and ok
    for channel, row in not_acked[:8]:
        print(f"      {channel} {row['label']}: {row['status']} {row['answer']}")
    ok = proof.figure(SUITE, "Amazon: no webhook (orders are polled): its route answers", amazon_status, "401",
                      amazon_status == 401) and ok
    ok = _stored(proof, results, backends, bool(drained)) and ok
    return ok


def _stored(proof, results, backends, drained):
    """Nothing half-stored; every signed garbage payload dead/blocked with an exception or skipped."""
    rows = proof.sql("SELECT id, backend_id, state, payload, payload_encoding FROM omni_event "
                     "WHERE backend_id = ANY(%s) AND direction = 'in'", (backends,))
    by_id = {row[0]: row for row in rows}
    named = {}
    for results_of in results.values():
        for row in results_of:
            if row["status"] == 200 and row["event_id"]:
                named.setdefault(row["event_id"], []).append(row["body"])
    half = 0
    for event_id, bodies in named.items():
        row = by_id.get(event_id)
        if row is None:
            half += 1
            continue
        payload, encoding = row[3], row[4]
        stored = base64.b64decode(payload) if encoding == "base64" else (payload or "").encode()
        if stored not in bodies:
            half += 1
    unnamed = len(set(by_id) - set(named))
    ok = proof.figure(SUITE, "webhooks: events stored not whole / stored without a 200 naming them",
                      f"{half} / {unnamed} of {len(by_id)} events", "0 / 0", not half and not unnamed)
    states = Counter(row[2] for row in rows)
    with_exception = proof.scalar(
        "SELECT count(DISTINCT e.id) FROM omni_event e JOIN omni_exception x ON x.event_id = e.id "
        "WHERE e.backend_id = ANY(%s) AND e.state IN ('dead', 'blocked')", (backends,))
    failed = states.get("dead", 0) + states.get("blocked", 0)
    orders = proof.scalar("SELECT count(*) FROM sale_order WHERE omni_backend_id = ANY(%s)", (backends,))
    done = proof.sql("SELECT e.topic, e.res_model, count(*) FROM omni_event e WHERE e.backend_id = ANY(%s) "
                     "AND e.state = 'done' GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 5", (backends,))
    unfinished = states.get("pending", 0) + states.get("retry", 0)
    ok = proof.figure(SUITE, "webhooks: signed garbage events dead or blocked (with an open exception) / skipped / "
                      "done / unfinished", f"{failed} ({with_exception}) / {states.get('skipped', 0)} / "
                      f"{states.get('done', 0)} / {unfinished}",
                      "every dead or blocked one with an exception; 0 unfinished",
                      drained and with_exception == failed and not unfinished) and ok
    if done:
        print("      done: " + "; ".join(f"{topic} -> {model or 'nothing'} x{count}" for topic, model, count in done))
    ok = proof.figure(SUITE, "webhooks: sale orders made from signed garbage", orders, "0", orders == 0) and ok
    return ok
