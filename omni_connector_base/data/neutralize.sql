-- Neutralized copy (odoo-bin neutralize): every channel backend becomes a sandbox. A sandbox
-- backend pushes nothing (outgoing events wait), polls and fetches no payouts, and its webhook
-- intake and the custom API's POSTs answer 403 without storing anything (see models/omni_governance_neutralize.py).
-- A rotated webhook secret's previous value is not carried into the copy.
UPDATE omni_backend
   SET sandbox = true,
       webhook_secret_previous = NULL,
       webhook_secret_grace_until = NULL;
