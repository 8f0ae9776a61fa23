"""``GET /omni/metrics`` (Prometheus text, Bearer token) and ``GET /omni/health`` (public JSON)."""

import json
import logging

from odoo import http
from odoo.http import request

from odoo.addons.omni_connector_base.pipeline.masking import exception_summary

from ..lib.exposition import CONTENT_TYPE, render

_logger = logging.getLogger(__name__)


def _json(status, body):
    return request.make_response(
        json.dumps(body), status=status,
        headers=[("Content-Type", "application/json"), ("Cache-Control", "no-store")],
    )


class OmniMonitoringController(http.Controller):
    @http.route("/omni/metrics", type="http", auth="none", methods=["GET"], csrf=False, save_session=False,
                readonly=True)
    def omni_metrics(self, **_kwargs):
        env = request.env(su=True)
        header = request.httprequest.headers.get("Authorization") or ""
        scheme, _sep, token = header.partition(" ")
        if scheme.lower() != "bearer" or not env["res.config.settings"]._omni_check_metrics_token(token.strip()):
            return request.make_response(
                "unauthorized\n", status=401,
                headers=[("Content-Type", "text/plain"), ("WWW-Authenticate", 'Bearer realm="omni-metrics"')],
            )
        body = render(env["omni.metrics"]._omni_families())
        return request.make_response(body, headers=[("Content-Type", CONTENT_TYPE), ("Cache-Control", "no-store")])

    @http.route("/omni/health", type="http", auth="none", methods=["GET"], csrf=False, save_session=False,
                readonly=True)
    def omni_health(self, **_kwargs):
        try:
            report = request.env(su=True)["omni.health"]._omni_health()
        except Exception as error:  # the database is not reachable, or worse: answer, never a traceback
            _logger.error("omni health check failed: %s", exception_summary(error))
            report = {"status": "fail", "checks": [{"name": "database", "status": "fail"}]}
        return _json(200 if report["status"] == "ok" else 503, report)
