"""The HTTP transport under ``shopifyapp``: the base URL override (the local simulator) and named
network failures, and the API call metrics (one record per HTTP request)."""

import httpx

try:
    from odoo.addons.omni_connector_base.pipeline import call_metrics
except ImportError:  # pure-Python tests load the addons without Odoo
    from omni_connector_base.pipeline import call_metrics


# ------------------------------------------------------------------------ transport
class _ShopifyTransport(httpx.HTTPTransport):
    """httpx transport that applies the base URL override and names network failures.

    ``shopifyapp`` always builds ``https://{shop}.myshopify.com/...``; with an
    override every request is re-targeted (scheme, host, port, path prefix) while
    the ``Host`` header still names the shop, as it would in production.
    """

    def __init__(self, base_url=None, **kwargs):
        super().__init__(**kwargs)
        self.last_error = None
        self._base = None
        if base_url:
            url = httpx.URL(base_url)
            if url.scheme not in ("http", "https") or not url.host:
                raise ValueError("base_url must be an absolute http(s) URL")
            self._base = (url.scheme, url.host, url.port, url.path.rstrip("/"))

    def handle_request(self, request):
        if self._base is not None:
            scheme, host, port, prefix = self._base
            request.url = request.url.copy_with(
                scheme=scheme, host=host, port=port, path=prefix + request.url.path
            )
        try:  # the API call metrics (omni_connector_base), under the operation the client named
            with call_metrics.timed(call_metrics.take_operation() or _operation(request)) as call:
                response = super().handle_request(request)
                call.status = response.status_code
            return response
        except httpx.TimeoutException:
            self.last_error = "timeout"
            raise
        except httpx.TransportError:
            self.last_error = "connection error"
            raise



def _operation(request):
    """A request the client did not name (the token grant): its path without the API version."""
    return "token" if request.url.path.endswith("/access_token") else request.url.path.rsplit("/", 1)[-1]
