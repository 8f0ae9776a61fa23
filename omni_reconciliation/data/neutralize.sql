-- Neutralized copy: payout sources cannot be fetched (no Stripe key survives).
UPDATE omni_settlement_account
   SET stripe_secret_key = NULL;
