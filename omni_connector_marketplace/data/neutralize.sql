-- Neutralized copy: no marketplace credentials survive (neither Amazon's Login with Amazon secret
-- and refresh token nor eBay's client secret, refresh token and Finances signing keys), and no
-- stock is exported once someone re-enters them.
UPDATE omni_backend
   SET amazon_lwa_client_secret = NULL,
       amazon_refresh_token = NULL,
       amazon_export_stock = false
 WHERE channel = 'amazon';
UPDATE omni_backend
   SET ebay_cert_id = NULL,
       ebay_refresh_token = NULL,
       ebay_verification_token = NULL,
       ebay_signing_key = NULL,
       ebay_signing_jwe = NULL,
       ebay_export_stock = false
 WHERE channel = 'ebay';
