-- Neutralized copy: the production scraper's bearer token no longer opens /omni/metrics (a new
-- token must be generated in Settings). Alert emails need no switch of their own: Odoo's
-- neutralization deactivates the outgoing mail servers, so alerts stay in the exception queue.
DELETE FROM ir_config_parameter
 WHERE key = 'omni_monitoring.metrics_token_hash';
