-- Neutralized copy: no Shopify credentials survive (the shop cannot be reached even if a
-- backend is taken out of sandbox), and Odoo credit notes are not exported.
UPDATE omni_backend
   SET shopify_access_token = NULL,
       shopify_export_refunds = false
 WHERE channel = 'shopify';
