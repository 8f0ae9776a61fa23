"""Suite 6, authorization matrix: who can do what, asked over JSON-RPC of the running server.

The matrix is generated, not written by hand:

- **groups**: every group named in an ``ir.model.access.csv`` of an ``omni_*`` addon, each given
  to a user of its own (company A), plus the README's combined columns (Omnichannel Manager who
  is also a system administrator; Omnichannel User with Accounting *Billing*; User with Sales
  rights) and a plain internal user;
- **models**: every ``omni.*`` model of those files; its **record rules** (``ir.rule`` of the
  addons) say which are company-bound;
- **operations**: read (a real ``search_read``) and write/create/unlink (``has_access`` on a
  record of company A: the ACL and the record rules the ORM applies);
- **public actions**: every ``type="object"`` button of the views of those models and every public
  ``action_*``/``button_*`` method the addons define on them (callable over RPC), called with no
  argument on a record of the user's own fixture set.

Expected outcomes:

- read/write/create/unlink: what the access files grant the user's groups (implied groups
  included); a record of another company is invisible (record rules);
- actions: the README's *Who can do what* table (``ROWS`` below maps each row to the methods it
  names); an action the table does not name is expected to be open to whoever can read the record;
- secrets (fields restricted to ``base.group_system``): their values never appear in any answer to
  a user who is not a system administrator, whatever the method (``read``, ``search_read``,
  ``web_read``, ``web_search_read``, ``export_data``, ``read_group``-like); the administrator sees them;
- companies: a user of company B alone sees none of company A's backends, events, exceptions,
  bindings or payouts (``search_read`` finds nothing, ``read`` of their ids is refused).

An action answered with a business error (``UserError``, ``ValidationError``: "nothing to
retry") passed the access checks: it counts as allowed. ``AccessError`` is denied.
"""

import csv
import itertools
import json
import re
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from .harness import REPO

SUITE = "6 authorization"
PASSWORD = "proof-authz-Pa55word!"
CLIENTS = 3  # concurrent JSON-RPC clients

# The README's "Who can do what" rows, as the actions they name: row -> (who, [(model, method pattern)]).
# Who: "reader" = whoever can read the record; "user" = Omnichannel User; "manager" = Omnichannel
# Manager; "system" = an Omnichannel Manager who is also a system administrator; "billing" = an
# Omnichannel User with Accounting Billing; "adviser" = with Accounting Adviser.
# The first row whose pattern matches decides; an action no row names is expected open to readers.
ROWS = [
    ("open a list or a form (navigation buttons: they show only what the user may read)", "anyone",
     [("*", r"action_(view|open|ov)_\w+|action_omni_trace|action_\w+_view_\w+")]),
    ("work the exception queue: assign, resolve, ignore, reopen", "user",
     [("omni.exception", r"action_(assign_to_me|resolve|ignore|reopen)")]),
    ("replay events, Retry an exception, Map / Create Products", "manager",
     [("omni.event", r"action_replay"), ("omni.exception", r"action_retry"), ("omni.product.map.wizard", r".*")]),
    ("Process Now (an event, or a channel's queue)", "manager",
     [("omni.event", r"action_process_now"), ("omni.backend", r"action_process_now")]),
    ("rotate the webhook secret (Governance tab)", "system",
     [("omni.backend", r"action_rotate_secret"), ("omni.secret.rotate.wizard", r".*")]),
    ("configure channels, mappings, workflow rules; create and revoke API keys; run a channel's actions", "manager",
     [("omni.backend", r".*"), ("omni.api.key", r".*"), ("omni.shopify.variant", r".*"),
      ("omni.shopify.location", r".*"), ("omni.woocommerce.product", r".*"), ("omni.marketplace", r".*")]),
    ("work the payout queue: match, confirm / accept / unmatch a line, retry, add a balancing line, import payouts "
     "now", "user",
     [("omni.settlement", r"action_(match|retry|add_balancing_line)"),
      ("omni.settlement.line", r"action_(confirm_match|accept|unmatch)"),
      ("omni.settlement.account", r"action_import_now")]),
    ("create a payout account's accounts and journals", "adviser",
     [("omni.settlement.account", r"action_setup_accounts")]),
    ("reset a posted payout", "manager_billing", [("omni.settlement", r"action_reset")]),
    ("post or bank-match payouts", "billing",
     [("omni.settlement", r".*"), ("omni.settlement.line", r".*"), ("omni.settlement.account", r".*")]),
]
QUICK_MODELS = ("omni.backend", "omni.event", "omni.exception", "omni.binding", "omni.api.key", "omni.settlement",
                "omni.webhook.rejection")
QUICK_USERS = ("group_omni_user", "group_omni_manager", "manager_system", "user_billing", "company_b_manager")


def expected_row(model, method):
    for row, who, patterns in ROWS:
        for row_model, pattern in patterns:
            if row_model in ("*", model) and re.fullmatch(pattern, method):
                return row, who
    return None, "reader"


SETUP = r"""
import inspect
from lxml import etree
from odoo.addons.omni_connector_base.pipeline.errors import PermanentError
company_a = env.company
company_b = env["res.company"].search([("name", "=", "Proof Company B")], limit=1) or env["res.company"].create(
    {"name": "Proof Company B", "currency_id": company_a.currency_id.id})
Users = env["res.users"].with_context(no_reset_password=True)

def group(xmlid):
    return env.ref(xmlid)

users = {}
for key, spec in P["users"].items():
    login = "proof_authz_" + key
    user = Users.search([("login", "=", login)], limit=1)
    companies = [company_b.id] if spec.get("company") == "b" else [company_a.id]
    groups = [group("base.group_user").id] + [group(g).id for g in spec["groups"]]
    values = {"name": "Proof " + key, "login": login, "password": P["password"], "company_id": companies[0],
              "company_ids": [Command.set(companies)], "group_ids": [Command.set(groups)]}
    if user:
        user.write(values)
    else:
        user = Users.create(values)
    users[key] = {"id": user.id, "groups": sorted(set(user.all_group_ids.get_external_id().values()) - {""}),
                  "company": spec.get("company", "a"), "system": user.has_group("base.group_system")}

# models of the access files, their record rules
models = {}
for xmlid in P["model_xmlids"]:
    model = env.ref(xmlid, raise_if_not_found=False)
    if model and model.model.startswith("omni.") and model.model in env:
        models[xmlid] = model.model
rules = {}
for rule in env["ir.rule"].search([("model_id.model", "in", list(models.values()))]):
    rules.setdefault(rule.model_id.model, []).append(rule.domain_force)
group_ids = {}
for xmlid in P["group_xmlids"]:
    record = env.ref(xmlid, raise_if_not_found=False)
    group_ids[xmlid] = record.id if record else None

# secrets: fields readable by system administrators only
secrets = {}
for name in set(models.values()):
    for fname, field in env[name]._fields.items():
        if field.groups and "base.group_system" in field.groups and field.type in ("char", "text"):
            secrets.setdefault(name, []).append(fname)

# fixtures: one set per user (company A): a backend, a dead event with its exception, a payout
Backend = env["omni.backend"]
def fixture_set(tag, company):
    backend = Backend.search([("name", "=", "Proof authz " + tag)], limit=1) or Backend.create({
        "name": "Proof authz " + tag, "channel": "custom", "company_id": company.id,
        "webhook_secret": P["secret"] + "-" + tag})
    event = env["omni.event"].search([("backend_id", "=", backend.id)], limit=1)
    if not event:
        event_id, _new = env["omni.event"]._omni_store_incoming(backend, b'{"resource": 1}', {
            "idempotency_key": "proof-authz-" + tag, "topic": "test.event", "resource_model": "res.partner",
            "resource_key": "proof-authz-" + tag, "source_ts": False})
        event = env["omni.event"].browse(event_id)
        event.write({"state": "dead"})
    exception = env["omni.exception"].search([("backend_id", "=", backend.id)], limit=1) or env[
        "omni.exception"]._omni_raise_for_event(event, PermanentError("Proof authz exception " + tag))
    binding = env["omni.binding"].search([("backend_id", "=", backend.id)], limit=1) or env["omni.binding"].create({
        "backend_id": backend.id, "res_model": "res.partner", "res_id": env.user.partner_id.id,
        "external_id": "proof-authz-" + tag})
    key = env["omni.api.key"].search([("backend_id", "=", backend.id)], limit=1)
    full_key = None
    if not key:
        key, full_key = env["omni.api.key"]._omni_generate(backend, "proof authz " + tag)
    out = {"omni.backend": backend.id, "omni.event": event.id, "omni.exception": exception.id,
           "omni.binding": binding.id, "omni.api.key": key.id, "full_key": full_key}
    if "omni.settlement" in env and company == company_a:
        Account = env["omni.settlement.account"]
        account = Account.search([("name", "=", "Proof authz " + tag)], limit=1)
        if not account:
            values = Account._omni_default_values(company, "stripe", name="Proof authz " + tag)
            values.update(backend_id=backend.id, bank_journal_id=env["account.journal"].search(
                [("type", "=", "bank"), ("company_id", "=", company.id)], limit=1).id)
            account = Account.create(values)
            account.action_setup_accounts()
        settlement = env["omni.settlement"].search([("payout_account_id", "=", account.id)], limit=1) or env[
            "omni.settlement"].create({"payout_account_id": account.id, "company_id": company.id,
                                       "external_id": "po_proof_" + tag, "currency_id": company.currency_id.id})
        out.update({"omni.settlement": settlement.id, "omni.settlement.account": account.id})
    return out

channel_backends = {}
for channel, extra in (("shopify", {"shopify_shop_domain": "proof-authz.myshopify.com", "shopify_access_token": "x",
                                    "shopify_base_url": "http://127.0.0.1:9"}),
                       ("woocommerce", {"woocommerce_store_url": "http://127.0.0.1:9", "woocommerce_consumer_key": "ck",
                                        "woocommerce_consumer_secret": "cs"}),
                       ("amazon", {}), ("ebay", {"ebay_api_base_url": "http://127.0.0.1:9",
                                                 "ebay_token_url": "http://127.0.0.1:9/token"})):
    name = "Proof authz " + channel
    backend = Backend.search([("name", "=", name)], limit=1)
    if not backend:
        values = {"name": name, "channel": channel, "company_id": company_a.id, "webhook_secret": P["secret"]}
        values.update({k: v for k, v in extra.items() if k in Backend._fields})
        backend = Backend.create(values)
    channel_backends[channel] = backend.id
fixtures = {key: fixture_set(key, company_b if spec["company"] == "b" else company_a) for key, spec in users.items()}
fixtures["company_b"] = fixture_set("company-b", company_b)
env["omni.webhook.rejection"]._omni_log(fixtures["company_b"]["omni.backend"], "bad signature", 401, "127.0.0.1",
                                        "proof", 10)
env["omni.webhook.rejection"]._omni_log(fixtures[P["first"]]["omni.backend"], "bad signature", 401, "127.0.0.1",
                                        "proof", 10)
# A record of company A for every model that has one (the first one found), for the CRUD checks.
samples = {}
for name in set(models.values()):
    Model = env[name].sudo().with_context(active_test=False)
    if Model._transient or Model._abstract:
        continue
    domain = [("company_id", "=", company_a.id)] if "company_id" in Model._fields else []
    record = Model.search(domain, limit=1, order="id")
    if record:
        samples[name] = record.id

# public actions: object buttons of the views, public action_/button_ methods defined by omni addons
actions = {}
for view in env["ir.ui.view"].search([("model", "in", list(set(models.values())))]):
    try:
        arch = etree.fromstring(view.arch_db.encode() if isinstance(view.arch_db, str) else view.arch_db)
    except Exception:
        continue
    for button in arch.iter("button"):
        if button.get("type") == "object" and button.get("name"):
            actions.setdefault(view.model, {}).setdefault(button.get("name"), button.get("groups") or "")
for name in set(models.values()):
    cls = type(env[name])
    for attr in dir(cls):
        if not (attr.startswith("action_") or attr.startswith("button_")):
            continue
        method = getattr(cls, attr, None)
        module = getattr(method, "__module__", "") or ""
        if callable(method) and module.startswith("odoo.addons.omni_"):
            actions.setdefault(name, {}).setdefault(attr, "")
callable_actions = {}
for name, methods in actions.items():
    cls = type(env[name])
    for attr, groups in methods.items():
        method = getattr(cls, attr, None)
        if method is None or getattr(method, "_api_private", False):
            continue
        try:
            params = list(inspect.signature(method).parameters.values())[1:]
        except (TypeError, ValueError):
            params = []
        required = [p.name for p in params if p.default is inspect.Parameter.empty
                    and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        model_api = getattr(method, "_api_model", False)
        callable_actions.setdefault(name, {})[attr] = {"groups": groups, "required": required, "model": model_api}
env.cr.commit()
_emit({"users": users, "models": sorted(set(models.values())), "model_of": models, "rules": rules,
       "secrets": secrets, "fixtures": fixtures, "channel_backends": channel_backends, "samples": samples,
       "actions": callable_actions,
       "company_a": company_a.id, "company_b": company_b.id})
"""


def access_files():
    """Rows of every ``omni_*`` addon's ``security/ir.model.access.csv``: (addon, row dict)."""
    rows = []
    for path in sorted(REPO.glob("omni_*/security/ir.model.access.csv")):
        addon = path.parts[-3]
        with path.open(newline="") as handle:
            for row in csv.DictReader(handle):
                rows.append((addon, row))
    return rows


def _xmlid(addon, ref):
    return ref if "." in ref else f"{addon}.{ref}"


def users_plan(groups):
    """A user per group of the access files, plus the README table's combined columns."""
    plan = {}
    for xmlid in sorted(groups):
        if xmlid == "base.group_user":
            continue
        plan[re.sub(r"\W", "_", xmlid.replace("omni_connector_base.", ""))] = {"groups": [xmlid]}
    plan["internal"] = {"groups": []}
    plan["manager_system"] = {"groups": ["omni_connector_base.group_omni_manager", "base.group_system"]}
    plan["user_billing"] = {"groups": ["omni_connector_base.group_omni_user", "account.group_account_invoice"]}
    plan["manager_billing"] = {"groups": ["omni_connector_base.group_omni_manager", "account.group_account_invoice"]}
    plan["user_sales"] = {"groups": ["omni_connector_base.group_omni_user", "sales_team.group_sale_salesman"]}
    plan["company_b_manager"] = {"groups": ["omni_connector_base.group_omni_manager",
                                            "account.group_account_invoice"], "company": "b"}
    return plan


class Rpc:
    """One user's JSON-RPC session on the running server (``/web/session/authenticate``, ``call_kw``)."""

    def __init__(self, base_url, db, login):
        import requests  # noqa: PLC0415

        self.base_url = base_url
        self.session = requests.Session()
        self.calls = 0
        answer = self._post("/web/session/authenticate", {"db": db, "login": login, "password": PASSWORD})
        if "error" in answer or not (answer.get("result") or {}).get("uid"):
            raise RuntimeError(f"login {login} refused: {json.dumps(answer)[:500]}")
        self.uid = answer["result"]["uid"]

    def _post(self, path, params):
        response = self.session.post(self.base_url + path, json={"jsonrpc": "2.0", "method": "call",
                                                                  "params": params, "id": 1}, timeout=120)
        self.calls += 1
        self.last_status = response.status_code
        self.last_text = response.text
        return response.json()

    def call(self, model, method, args, kwargs=None):
        """``("ok", result)``, ``("denied", message)`` (AccessError), ``("refused", name)`` (another
        Odoo exception: a business refusal after the access checks) or ``("error", text)``."""
        answer = self._post(f"/web/dataset/call_kw/{model}/{method}", {
            "model": model, "method": method, "args": args, "kwargs": kwargs or {}})
        if "error" not in answer:
            return "ok", answer.get("result")
        data = answer["error"].get("data") or {}
        name = data.get("name", "")
        if name == "odoo.exceptions.AccessError":
            return "denied", data.get("message", "")
        if name.startswith("odoo.exceptions.") or name in ("werkzeug.exceptions.NotFound",):
            return "refused", name
        return "error", f"{name}: {data.get('message', '')[:200]}"


def run(proof, channels, **_kwargs):
    rows = access_files()
    groups = {_xmlid(addon, row["group_id:id"]) for addon, row in rows if row["group_id:id"]}
    model_xmlids = {_xmlid(addon, row["model_id:id"]) for addon, row in rows}
    plan = users_plan(groups)
    first = next(iter(plan))
    setup = proof.shell(SETUP, {"users": plan, "password": PASSWORD, "model_xmlids": sorted(model_xmlids),
                                "group_xmlids": sorted(groups), "secret": "proof-authz-secret-7f3a", "first": first})
    models = setup["models"]
    acl = {}  # (model, group) -> perms
    for addon, row in rows:
        model = setup["model_of"].get(_xmlid(addon, row["model_id:id"]))
        if model:
            group = _xmlid(addon, row["group_id:id"]) if row["group_id:id"] else None
            perms = acl.setdefault((model, group), set())
            perms.update(op for op in ("read", "write", "create", "unlink") if row[f"perm_{op}"] == "1")
    users = setup["users"]
    if proof.quick:  # the README's main columns and the company-B user, the main models, the table's actions
        users = {key: value for key, value in users.items() if key in QUICK_USERS}
        models = [model for model in models if model in QUICK_MODELS]
    sessions = {key: Rpc(proof.base_url, proof.dbname, f"proof_authz_{key}") for key in users}

    def allowed(user, model, op):
        return any(op in perms for (m, group), perms in acl.items()
                   if m == model and (group is None or group in users[user]["groups"]))

    # ------------------------------------------------------------- CRUD matrix
    mismatches, cells = [], 0
    lock = threading.Lock()

    def crud(user, model):
        nonlocal cells
        rpc = sessions[user]
        sample = setup["samples"].get(model)
        found = []
        if users[user]["company"] == "b":
            return found  # the company-B user is checked for isolation below
        domain = [["id", "=", sample]] if sample else []
        outcome, _ = rpc.call(model, "search_read", [domain], {"fields": ["id"], "limit": 1})
        got = {"read": outcome == "ok"}
        for op in ("write", "create", "unlink"):
            outcome, result = rpc.call(model, "has_access", [[sample] if sample and op != "create" else [], op])
            got[op] = outcome == "ok" and result is True
        for op, value in got.items():
            want = allowed(user, model, op)
            if value != want:
                found.append(f"{user} {op} {model}: got {'allowed' if value else 'denied'}, "
                             f"access files say {'allowed' if want else 'denied'}")
        with lock:
            cells += 4
        return found

    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        for found in pool.map(lambda pair: crud(*pair), itertools.product(list(sessions), models)):
            mismatches += found
    ok = proof.figure(SUITE, "CRUD cells (users x omni models x read/write/create/unlink) not as the access "
                      "files say", f"{len(mismatches)} of {cells}",
                      f"0; {len(sessions)} users, {len(models)} models, "
                      f"{sum(1 for m in models if m in setup['rules'])} with record rules", not mismatches)
    for line in mismatches[:15]:
        print(f"      {line}")

    # ----------------------------------------------------------------- actions
    action_mismatches, action_cells, errors, not_in_table = [], 0, [], set()

    def may(user, who, model):
        groups_of = users[user]["groups"]
        manager = "omni_connector_base.group_omni_manager" in groups_of
        omni = manager or "omni_connector_base.group_omni_user" in groups_of
        billing = omni and "account.group_account_invoice" in groups_of
        return {"anyone": True, "reader": allowed(user, model, "read"), "user": omni, "manager": manager,
                "system": manager and users[user]["system"],
                "billing": billing, "manager_billing": manager and billing,
                "adviser": omni and "account.group_account_manager" in groups_of}[who]

    def act(user):
        rpc = sessions[user]
        own = setup["fixtures"][user]
        plan_calls = []
        for model, methods in setup["actions"].items():
            for method, info in methods.items():
                if info["required"]:
                    continue  # needs arguments only its form gives
                channel = next((c for c in ("shopify", "woocommerce", "amazon", "ebay") if f"_{c}_" in method), None)
                if model == "omni.backend" and channel:
                    record = setup["channel_backends"][channel]  # a backend of the channel the action is for
                else:
                    record = own.get(model) or setup["samples"].get(model)
                row, who = expected_row(model, method)
                if proof.quick and row is None:
                    continue
                if row is None:
                    not_in_table.add(f"{model}.{method}")
                want = may(user, who, model)
                plan_calls.append((not want, model, method, record, want, info))
        # expected refusals first: a refused call changes nothing, so the allowed ones after it
        # still find the fixtures as they were made
        found, err, count = [], [], 0
        for _order, model, method, record, want, info in sorted(plan_calls, key=lambda c: c[:3]):
            args = [] if info["model"] else [[record] if record else []]
            if not info["model"] and not record:
                continue
            outcome, detail = rpc.call(model, method, args)
            count += 1
            if outcome == "error":
                err.append(f"{user} {model}.{method}: {detail}")
                continue
            got = outcome != "denied"
            if got != want:
                found.append(f"{user} {model}.{method}: got {'allowed' if got else 'denied'}"
                             f" ({outcome}), expected {'allowed' if want else 'denied'}")
        return found, err, count

    a_users = [user for user in sessions if users[user]["company"] == "a"]
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        for found, err, count in pool.map(act, a_users):
            action_mismatches += found
            errors += err
            action_cells += count
    n_actions = sum(len(methods) for methods in setup["actions"].values())
    ok = proof.figure(SUITE, "public actions (users x buttons and action methods) not as the README table says",
                      f"{len(action_mismatches)} of {action_cells}",
                      f"0; {n_actions} actions on {len(setup['actions'])} models", not action_mismatches) and ok
    for line in action_mismatches[:15]:
        print(f"      {line}")
    ok = proof.figure(SUITE, "actions answered with a server error (not an access or business refusal)",
                      len(errors), "0", not errors) and ok
    for line in errors[:10]:
        print(f"      {line}")
    proof.figure(SUITE, "actions the README table does not name (expected open to readers of the record)",
                 len(not_in_table), "listed with -v", None)

    # ----------------------------------------------------------------- secrets
    ok = _secrets(proof, setup, sessions, users) and ok
    # --------------------------------------------------------------- companies
    ok = _companies(proof, setup, sessions, users) and ok
    proof.figure(SUITE, "JSON-RPC calls", sum(rpc.calls for rpc in sessions.values()), "", None)
    report = Path(tempfile.gettempdir()) / f"proof-authz-{proof.dbname}.json"
    report.write_text(json.dumps({"crud": mismatches, "actions": action_mismatches, "errors": errors,
                                  "not_in_table": sorted(not_in_table)}, indent=1))
    print(f"    every mismatch: {report}")
    return ok


def _secrets(proof, setup, sessions, users):
    """Secret values never in an answer to a non-administrator; the administrator gets them."""
    backend_secret_values = []
    leaks, probes, admin_saw = [], 0, False
    fixture_keys = [fx.get("full_key") for fx in setup["fixtures"].values() if fx.get("full_key")]
    for key in setup["fixtures"]:
        backend_secret_values.append(f"proof-authz-secret-7f3a-{key}")
    needles = [value for value in backend_secret_values + fixture_keys if value]
    for user, rpc in sessions.items():
        system = users[user]["system"]
        for model, fields in setup["secrets"].items():
            sample = setup["fixtures"].get(user, {}).get(model) or setup["samples"].get(model)
            ids = [sample] if sample else []
            spec = {name: {} for name in fields}
            calls = [
                ("read", [ids], {}), ("read", [ids, fields], {}),
                ("search_read", [[]], {"limit": 5}), ("search_read", [[]], {"fields": fields, "limit": 5}),
                ("web_read", [ids], {"specification": spec}),
                ("web_search_read", [[]], {"specification": spec, "limit": 5}),
                ("export_data", [ids, fields], {}),
                ("read_group", [[], fields[:1], fields[:1]], {}),
            ]
            for method, args, kwargs in calls:
                _outcome, _detail = rpc.call(model, method, args, kwargs)
                probes += 1
                text = rpc.last_text
                hit = [value for value in needles if value in text]
                if hit and not system:
                    leaks.append(f"{user} {model}.{method}: a secret value in the answer")
                if hit and system:
                    admin_saw = True
    ok = proof.figure(SUITE, "secret values in answers to non-administrators (read, search_read, web_read, "
                      "web_search_read, export_data, read_group)", f"{len(leaks)} of {probes} answers",
                      f"0; fields {', '.join(f'{m}: {len(f)}' for m, f in setup['secrets'].items())}", not leaks)
    for line in leaks[:10]:
        print(f"      {line}")
    ok = proof.figure(SUITE, "the system administrator gets them (the probe can see a leak)",
                      "yes" if admin_saw else "no", "yes", admin_saw) and ok
    return ok


def _companies(proof, setup, sessions, users):
    """The company-B user sees nothing of company A; company-A users see nothing of company B."""
    leaks, checks = [], 0
    a_ids = {}
    for key, fx in setup["fixtures"].items():
        if key == "company_b" or users.get(key, {}).get("company") == "b":
            continue
        for model in ("omni.backend", "omni.event", "omni.exception", "omni.binding", "omni.settlement",
                      "omni.api.key", "omni.settlement.account"):
            if fx.get(model):
                a_ids.setdefault(model, []).append(fx[model])
    b_ids = {model: [rid] for model, rid in setup["fixtures"]["company_b"].items()
             if model.startswith("omni.") and rid}
    for user, rpc in sessions.items():
        mine_b = users[user]["company"] == "b"
        foreign = a_ids if mine_b else b_ids
        for model, ids in foreign.items():
            outcome, result = rpc.call(model, "search_read", [[["id", "in", ids]]], {"fields": ["id"]})
            checks += 1
            if outcome == "ok" and result:
                leaks.append(f"{user} search_read {model}: {len(result)} of the other company's records")
            outcome, result = rpc.call(model, "read", [ids[:1], ["display_name"]])
            checks += 1
            if outcome == "ok" and result:
                leaks.append(f"{user} read {model} {ids[:1]}: answered")
        if mine_b:
            outcome, result = rpc.call("omni.webhook.rejection", "search_read",
                                       [[["backend_id", "in", a_ids.get("omni.backend", [])]]], {"fields": ["id"]})
            checks += 1
            if outcome == "ok" and result:
                leaks.append(f"{user} search_read omni.webhook.rejection: company A's")
    ok = proof.figure(SUITE, "records of another company visible (backends, events, exceptions, bindings, "
                      "payouts, API keys)", f"{len(leaks)} of {checks} checks", "0", not leaks)
    for line in leaks[:10]:
        print(f"      {line}")
    return ok


# Odoo logs every refused call (AccessError) with its explanation lines; the suite makes hundreds
# on purpose. The refusal's own lines are expected; every other error line still fails the run.
REFUSAL_LINES = re.compile(r"^(Operation: \w+|User: \d+|Groups: allowed for groups .*|Records: .*|"
                           r"Document type: .*|Contact your administrator.*)$")


def allowed_log_line(line):
    return bool(REFUSAL_LINES.match(line.strip()))
