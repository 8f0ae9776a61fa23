-- Neutralized copy (odoo-bin neutralize): every channel backend becomes a sandbox. A sandbox
-- backend pushes nothing (outgoing events wait), polls and fetches no payouts, and its webhook
-- intake and the custom API's POSTs answer 403 without storing anything (see models/omni_governance_neutralize.py).
UPDATE omni_backend
   SET sandbox = true;
