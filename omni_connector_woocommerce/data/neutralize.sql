-- Neutralized copy: no WooCommerce credentials survive (the store cannot be reached even if a
-- backend is taken out of sandbox), webhook deliveries cannot be verified, and nothing is pushed
-- (stock, shipments, credit notes) once someone re-enters keys.
UPDATE omni_backend
   SET woocommerce_consumer_key = NULL,
       woocommerce_consumer_secret = NULL,
       webhook_secret = NULL,
       woocommerce_export_stock = false,
       woocommerce_export_shipments = false,
       woocommerce_export_refunds = false
 WHERE channel = 'woocommerce';
