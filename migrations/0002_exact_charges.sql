-- Charges that explain themselves, holds that live as long as their request, and no silent caps.
--
--   * A charge records every count it was priced from (prompt, cached, cache-write, completion,
--     reasoning), the unit prices it applied, where the counts came from, and `uncollected`: the part
--     of its cost the account could not pay. Token counts are bigint, so no count can fail a settle.
--   * A charge is never capped at its hold: it takes the true cost up to what the account has
--     available (balance minus the other holds), never below zero, and records the rest as uncollected.
--   * The process that owns a hold renews it (moves `expires_at`) while the request runs, and writes on
--     it what the request has metered so far. A hold expires only when its owner stopped renewing (a
--     crashed or frozen process); the sweeper then charges the metered usage instead of releasing it.
--
-- The functions of 0001 keep their signatures, because the previous version's processes call them during a
-- rolling deploy: billing_settle(..., integer, integer, text) now settles through the new billing_settle,
-- and billing_release_expired sweeps through billing_sweep_expired.
--
-- Changing the two token columns to bigint rewrites billing_transactions once, under its lock.

ALTER TABLE billing_transactions
  ALTER COLUMN prompt_tokens TYPE bigint,
  ALTER COLUMN completion_tokens TYPE bigint,
  ADD COLUMN cached_tokens bigint,
  ADD COLUMN cache_write_tokens bigint,
  ADD COLUMN reasoning_tokens bigint,
  -- USD per million tokens, as the catalog said when the charge was made.
  ADD COLUMN input_price_per_1m numeric(30, 9),
  ADD COLUMN cached_input_price_per_1m numeric(30, 9),
  ADD COLUMN cache_write_price_per_1m numeric(30, 9),
  ADD COLUMN output_price_per_1m numeric(30, 9),
  -- Charges: cost = -amount + uncollected.
  ADD COLUMN uncollected numeric(30, 9) CHECK (uncollected >= 0),
  -- `provider`: the provider's final usage; `partial`: the provider's counts so far, completed by the
  -- tokenizer (a stream cut mid-way); `tokenizer`: the gateway's own count. `estimated`: rows of 0001.
  DROP CONSTRAINT billing_transactions_usage_source_check,
  ADD CONSTRAINT billing_transactions_usage_source_check
    CHECK (usage_source IN ('provider', 'partial', 'tokenizer', 'estimated'));

-- What the hold's request has metered so far, written by its renewals (all NULL: nothing to charge).
ALTER TABLE billing_holds
  ADD COLUMN metered_at timestamptz,
  ADD COLUMN metered_model text,
  ADD COLUMN metered_cost numeric(30, 9),
  ADD COLUMN usage_source text,
  ADD COLUMN prompt_tokens bigint,
  ADD COLUMN cached_tokens bigint,
  ADD COLUMN cache_write_tokens bigint,
  ADD COLUMN completion_tokens bigint,
  ADD COLUMN reasoning_tokens bigint,
  ADD COLUMN input_price_per_1m numeric(30, 9),
  ADD COLUMN cached_input_price_per_1m numeric(30, 9),
  ADD COLUMN cache_write_price_per_1m numeric(30, 9),
  ADD COLUMN output_price_per_1m numeric(30, 9);

-- Writes one charge whose hold the caller has already released: the cost up to what the account has
-- available, never below zero, the rest recorded as uncollected. Takes the account's row lock.
CREATE FUNCTION billing_post_charge(
  p_user_id text,
  p_hold_id bigint,
  p_request_id text,
  p_description text,
  p_cost numeric,
  p_model text,
  p_prompt_tokens bigint,
  p_cached_tokens bigint,
  p_cache_write_tokens bigint,
  p_completion_tokens bigint,
  p_reasoning_tokens bigint,
  p_input_price numeric,
  p_cached_input_price numeric,
  p_cache_write_price numeric,
  p_output_price numeric,
  p_usage_source text
) RETURNS TABLE (charged numeric, uncollected numeric, balance numeric, available numeric)
LANGUAGE plpgsql AS $$
DECLARE
  v_account billing_accounts;
  v_charge numeric;
BEGIN
  SELECT * INTO v_account FROM billing_accounts a WHERE a.user_id = p_user_id FOR UPDATE;
  v_charge := LEAST(p_cost, GREATEST(v_account.balance - v_account.held, 0));
  UPDATE billing_accounts a
    SET balance = a.balance - v_charge, transaction_count = a.transaction_count + 1, updated_at = now()
    WHERE a.user_id = p_user_id
    RETURNING * INTO v_account;
  INSERT INTO billing_transactions (
    user_id, seq, kind, amount, balance_after, description, hold_id, request_id, model, usage_source,
    prompt_tokens, cached_tokens, cache_write_tokens, completion_tokens, reasoning_tokens,
    input_price_per_1m, cached_input_price_per_1m, cache_write_price_per_1m, output_price_per_1m, uncollected
  ) VALUES (
    p_user_id, v_account.transaction_count, 'charge', -v_charge, v_account.balance, p_description, p_hold_id,
    p_request_id, p_model, p_usage_source,
    p_prompt_tokens, p_cached_tokens, p_cache_write_tokens, p_completion_tokens, p_reasoning_tokens,
    p_input_price, p_cached_input_price, p_cache_write_price, p_output_price, p_cost - v_charge
  );
  RETURN QUERY SELECT v_charge, p_cost - v_charge, v_account.balance, v_account.balance - v_account.held;
END
$$;

-- Settles a hold exactly once: releases it and, when `p_cost` is not NULL, charges it (billing_post_charge).
-- A hold the sweeper already released without a charge (its request outlived it) is still charged.
-- `status` says what this call did: 'charged', 'released', or 'already_settled' when an earlier settle or
-- the sweeper did it (then `charged` and `uncollected` are that charge's, and nothing is written).
CREATE FUNCTION billing_settle(
  p_hold_id bigint,
  p_user_id text,
  p_request_id text,
  p_description text,
  p_cost numeric,
  p_model text,
  p_prompt_tokens bigint,
  p_cached_tokens bigint,
  p_cache_write_tokens bigint,
  p_completion_tokens bigint,
  p_reasoning_tokens bigint,
  p_input_price numeric,
  p_cached_input_price numeric,
  p_cache_write_price numeric,
  p_output_price numeric,
  p_usage_source text
) RETURNS TABLE (status text, charged numeric, uncollected numeric, balance numeric, available numeric)
LANGUAGE plpgsql AS $$
DECLARE
  v_hold_amount numeric;
  v_account billing_accounts;
  v_earlier billing_transactions;
BEGIN
  DELETE FROM billing_holds h WHERE h.id = p_hold_id RETURNING h.amount INTO v_hold_amount;
  IF FOUND THEN
    UPDATE billing_accounts a SET held = a.held - v_hold_amount, updated_at = now()
      WHERE a.user_id = p_user_id
      RETURNING * INTO v_account;
    IF p_cost IS NULL THEN
      RETURN QUERY SELECT 'released'::text, 0::numeric, 0::numeric, v_account.balance,
        v_account.balance - v_account.held;
      RETURN;
    END IF;
  ELSE
    SELECT * INTO v_account FROM billing_accounts a WHERE a.user_id = p_user_id FOR UPDATE;
    SELECT * INTO v_earlier FROM billing_transactions t WHERE t.hold_id = p_hold_id;
    IF FOUND OR p_cost IS NULL THEN
      RETURN QUERY SELECT 'already_settled'::text, coalesce(-v_earlier.amount, 0), coalesce(v_earlier.uncollected, 0),
        v_account.balance, v_account.balance - v_account.held;
      RETURN;
    END IF;
  END IF;
  RETURN QUERY SELECT 'charged'::text, c.charged, c.uncollected, c.balance, c.available
    FROM billing_post_charge(
      p_user_id, p_hold_id, p_request_id, p_description, p_cost, p_model,
      p_prompt_tokens, p_cached_tokens, p_cache_write_tokens, p_completion_tokens, p_reasoning_tokens,
      p_input_price, p_cached_input_price, p_cache_write_price, p_output_price, p_usage_source
    ) c;
END
$$;

-- The settle of 0001, for processes of the previous version: the same rules as above.
CREATE OR REPLACE FUNCTION billing_settle(
  p_hold_id bigint,
  p_user_id text,
  p_hold_amount numeric,
  p_cost numeric,
  p_description text,
  p_request_id text,
  p_model text,
  p_prompt_tokens integer,
  p_completion_tokens integer,
  p_usage_source text
) RETURNS TABLE (charged numeric, balance numeric, available numeric, transaction_id bigint)
LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY SELECT CASE WHEN s.status = 'charged' THEN s.charged END, s.balance, s.available, NULL::bigint
    FROM billing_settle(
      p_hold_id, p_user_id, p_request_id, p_description, p_cost, p_model,
      p_prompt_tokens::bigint, NULL::bigint, NULL::bigint, p_completion_tokens::bigint, NULL::bigint,
      NULL::numeric, NULL::numeric, NULL::numeric, NULL::numeric, p_usage_source
    ) s;
END
$$;

-- Takes the holds that expired before `p_now` (their owner stopped renewing them), at most `p_limit`:
-- releases each, and charges the usage its request had metered (billing_post_charge). One row per hold;
-- `charged` is NULL for a hold released without a charge. One sweeper at a time (the advisory lock).
CREATE FUNCTION billing_sweep_expired(p_now timestamptz, p_limit integer)
RETURNS TABLE (hold_id bigint, user_id text, request_id text, model text, charged numeric, uncollected numeric)
LANGUAGE plpgsql AS $$
DECLARE
  v_hold billing_holds;
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext('billing_release_expired')) THEN
    RETURN;
  END IF;
  -- A hold being renewed or settled right now is locked, and skipped; one renewed since this statement
  -- began is re-checked against its new expires_at, and skipped.
  FOR v_hold IN
    SELECT * FROM billing_holds h WHERE h.expires_at < p_now
    ORDER BY h.user_id, h.id LIMIT p_limit FOR UPDATE SKIP LOCKED
  LOOP
    DELETE FROM billing_holds h WHERE h.id = v_hold.id;
    UPDATE billing_accounts a SET held = a.held - v_hold.amount, updated_at = now() WHERE a.user_id = v_hold.user_id;
    IF v_hold.metered_cost IS NULL THEN
      RETURN QUERY SELECT v_hold.id, v_hold.user_id, v_hold.request_id, v_hold.model, NULL::numeric, NULL::numeric;
    ELSE
      RETURN QUERY SELECT v_hold.id, v_hold.user_id, v_hold.request_id, v_hold.metered_model, c.charged, c.uncollected
        FROM billing_post_charge(
          v_hold.user_id, v_hold.id, v_hold.request_id,
          'Chat completion with ' || v_hold.metered_model || ' (charged when its hold expired)',
          v_hold.metered_cost, v_hold.metered_model,
          v_hold.prompt_tokens, v_hold.cached_tokens, v_hold.cache_write_tokens, v_hold.completion_tokens,
          v_hold.reasoning_tokens, v_hold.input_price_per_1m, v_hold.cached_input_price_per_1m,
          v_hold.cache_write_price_per_1m, v_hold.output_price_per_1m, v_hold.usage_source
        ) c;
    END IF;
  END LOOP;
END
$$;

-- The sweep of 0001, for processes of the previous version: the same rules as above.
CREATE OR REPLACE FUNCTION billing_release_expired(p_now timestamptz, p_limit integer) RETURNS integer
LANGUAGE sql AS $$
  SELECT count(*)::integer FROM billing_sweep_expired(p_now, p_limit)
$$;
