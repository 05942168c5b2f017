-- Prepaid billing: accounts, an append-only ledger, and holds (the reservations of requests in flight).
--
-- Invariants, enforced here rather than trusted to callers:
--   * an account's balance equals the sum of its ledger amounts, and is never below zero;
--   * `held` is the sum of the account's holds, and never exceeds the balance (available = balance - held >= 0);
--   * a hold is charged at most once, and never more than its amount.
-- Every money movement is one call of one function below: one round trip, one transaction.
-- Amounts are NUMERIC(30, 9): exact nano-dollars, as `src/domain/Money.ts` holds them.

CREATE TABLE billing_accounts (
  user_id text PRIMARY KEY,
  balance numeric(30, 9) NOT NULL CHECK (balance >= 0),
  held numeric(30, 9) NOT NULL DEFAULT 0 CHECK (held >= 0 AND held <= balance),
  -- The number of ledger rows, so that listings know their total without counting.
  transaction_count bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE billing_transactions (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id text NOT NULL REFERENCES billing_accounts (user_id),
  -- 1, 2, 3, ... within the account, without gaps (assigned under the account's row lock):
  -- a page of the listing is a range of this index, whatever its offset.
  seq bigint NOT NULL,
  kind text NOT NULL CHECK (kind IN ('initial', 'charge', 'credit', 'adjustment')),
  amount numeric(30, 9) NOT NULL,
  balance_after numeric(30, 9) NOT NULL CHECK (balance_after >= 0),
  description text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Charges: the hold they settle (at most one charge per hold), the request and its usage.
  hold_id bigint UNIQUE,
  request_id text,
  model text,
  prompt_tokens integer,
  completion_tokens integer,
  usage_source text CHECK (usage_source IN ('provider', 'estimated')),
  -- Credits and adjustments: the admin who made them.
  actor text,
  UNIQUE (user_id, seq),
  CHECK ((kind = 'charge') = (hold_id IS NOT NULL))
);

CREATE UNIQUE INDEX billing_transactions_one_initial ON billing_transactions (user_id) WHERE kind = 'initial';
CREATE INDEX billing_transactions_request ON billing_transactions (request_id) WHERE request_id IS NOT NULL;

CREATE FUNCTION billing_ledger_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'billing_transactions is append-only';
END
$$;
CREATE TRIGGER billing_transactions_append_only BEFORE UPDATE OR DELETE ON billing_transactions
  FOR EACH ROW EXECUTE FUNCTION billing_ledger_is_append_only();
CREATE TRIGGER billing_transactions_no_truncate BEFORE TRUNCATE ON billing_transactions
  FOR EACH STATEMENT EXECUTE FUNCTION billing_ledger_is_append_only();

-- Only active holds live here: settling or releasing a hold deletes it.
CREATE TABLE billing_holds (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id text NOT NULL REFERENCES billing_accounts (user_id),
  amount numeric(30, 9) NOT NULL CHECK (amount >= 0),
  request_id text NOT NULL,
  model text NOT NULL,
  max_tokens integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Set from the gateway's clock; a hold past it belongs to a crashed process and is released by the sweeper.
  expires_at timestamptz NOT NULL
);
CREATE INDEX billing_holds_expiry ON billing_holds (expires_at);

-- The account of a user, created on first use with its "Initial balance" transaction.
-- Concurrent first calls create one account and one initial transaction: the losers of the
-- INSERT wait for the winner's commit, then read its row.
CREATE FUNCTION billing_account(p_user_id text, p_initial_balance numeric) RETURNS billing_accounts
LANGUAGE plpgsql AS $$
DECLARE
  v_account billing_accounts;
BEGIN
  SELECT * INTO v_account FROM billing_accounts WHERE user_id = p_user_id;
  IF FOUND THEN
    RETURN v_account;
  END IF;
  INSERT INTO billing_accounts (user_id, balance, transaction_count) VALUES (p_user_id, p_initial_balance, 1)
    ON CONFLICT (user_id) DO NOTHING
    RETURNING * INTO v_account;
  IF FOUND THEN
    INSERT INTO billing_transactions (user_id, seq, kind, amount, balance_after, description)
      VALUES (p_user_id, 1, 'initial', p_initial_balance, p_initial_balance, 'Initial balance');
    RETURN v_account;
  END IF;
  SELECT * INTO v_account FROM billing_accounts WHERE user_id = p_user_id;
  RETURN v_account;
END
$$;

-- Reserves the worst-case cost of a request: its prompt (an upper bound, priced by the caller)
-- plus `p_choices` completions of up to `p_max_tokens` tokens each, at `p_output_price` USD per
-- million tokens. The completion budget is clamped to what the available balance pays for; when
-- not even one token per choice is affordable, nothing is reserved and hold_id is NULL.
CREATE FUNCTION billing_reserve(
  p_user_id text,
  p_initial_balance numeric,
  p_prompt_cost numeric,
  p_output_price numeric,
  p_choices integer,
  p_max_tokens integer,
  p_request_id text,
  p_model text,
  p_expires_at timestamptz
) RETURNS TABLE (hold_id bigint, amount numeric, max_tokens integer, balance numeric, available numeric)
LANGUAGE plpgsql AS $$
DECLARE
  v_account billing_accounts;
  v_budget numeric;
  v_tokens numeric;
  v_amount numeric;
  v_hold_id bigint;
BEGIN
  SELECT * INTO v_account FROM billing_accounts WHERE user_id = p_user_id FOR UPDATE;
  IF NOT FOUND THEN
    PERFORM billing_account(p_user_id, p_initial_balance);
    SELECT * INTO v_account FROM billing_accounts WHERE user_id = p_user_id FOR UPDATE;
  END IF;

  -- What is left for the completion once the prompt is paid for; div() is exact integer division.
  v_budget := v_account.balance - v_account.held - p_prompt_cost;
  v_tokens := CASE
    WHEN v_budget < 0 THEN 0
    WHEN p_output_price = 0 THEN p_max_tokens
    ELSE LEAST(p_max_tokens, div(v_budget * 1000000, p_output_price * p_choices))
  END;
  IF v_tokens < 1 THEN
    RETURN QUERY SELECT NULL::bigint, NULL::numeric, 0, v_account.balance, v_account.balance - v_account.held;
    RETURN;
  END IF;

  -- Rounded up to the nano-dollar, as Money.costOf rounds every cost.
  v_amount := p_prompt_cost + ceil(v_tokens * p_choices * p_output_price * 1000) * 0.000000001;
  UPDATE billing_accounts SET held = held + v_amount, updated_at = now() WHERE user_id = p_user_id;
  INSERT INTO billing_holds (user_id, amount, request_id, model, max_tokens, expires_at)
    VALUES (p_user_id, v_amount, p_request_id, p_model, v_tokens, p_expires_at)
    RETURNING id INTO v_hold_id;
  RETURN QUERY SELECT v_hold_id, v_amount, v_tokens::integer, v_account.balance,
    v_account.balance - v_account.held - v_amount;
END
$$;

-- Settles a hold exactly once: releases it, and when `p_cost` is not NULL charges
-- min(p_cost, hold) with one ledger transaction. A hold the sweeper already released (its
-- request outlived the hold's TTL) is still charged, but never beyond what is available then.
-- Settling twice charges once: the second call finds neither the hold nor a missing charge.
CREATE FUNCTION billing_settle(
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
DECLARE
  v_hold_amount numeric;
  v_account billing_accounts;
  v_charge numeric;
  v_transaction_id bigint;
BEGIN
  DELETE FROM billing_holds WHERE id = p_hold_id RETURNING billing_holds.amount INTO v_hold_amount;
  IF FOUND THEN
    UPDATE billing_accounts SET held = held - v_hold_amount, updated_at = now()
      WHERE user_id = p_user_id
      RETURNING * INTO v_account;
    -- (LEAST ignores NULLs: a release must stay a release.)
    v_charge := CASE WHEN p_cost IS NULL THEN NULL ELSE LEAST(p_cost, v_hold_amount) END;
  ELSE
    SELECT * INTO v_account FROM billing_accounts WHERE user_id = p_user_id FOR UPDATE;
    IF p_cost IS NULL OR EXISTS (SELECT 1 FROM billing_transactions t WHERE t.hold_id = p_hold_id) THEN
      v_charge := NULL;
    ELSE
      v_charge := LEAST(p_cost, p_hold_amount, v_account.balance - v_account.held);
    END IF;
  END IF;

  IF v_charge IS NULL THEN
    RETURN QUERY SELECT NULL::numeric, v_account.balance, v_account.balance - v_account.held, NULL::bigint;
    RETURN;
  END IF;

  UPDATE billing_accounts
    SET balance = billing_accounts.balance - v_charge, transaction_count = transaction_count + 1, updated_at = now()
    WHERE user_id = p_user_id
    RETURNING * INTO v_account;
  INSERT INTO billing_transactions (
    user_id, seq, kind, amount, balance_after, description,
    hold_id, request_id, model, prompt_tokens, completion_tokens, usage_source
  ) VALUES (
    p_user_id, v_account.transaction_count, 'charge', -v_charge, v_account.balance, p_description,
    p_hold_id, p_request_id, p_model, p_prompt_tokens, p_completion_tokens, p_usage_source
  ) RETURNING id INTO v_transaction_id;
  RETURN QUERY SELECT v_charge, v_account.balance, v_account.balance - v_account.held, v_transaction_id;
END
$$;

-- Adds a credit (positive) or an adjustment (negative) to an account, opening it if needed.
-- An adjustment may not take the available balance below zero: then nothing is written and
-- transaction_id is NULL.
CREATE FUNCTION billing_credit(
  p_user_id text,
  p_initial_balance numeric,
  p_amount numeric,
  p_description text,
  p_actor text
) RETURNS TABLE (balance numeric, available numeric, transaction_id bigint)
LANGUAGE plpgsql AS $$
DECLARE
  v_account billing_accounts;
  v_transaction_id bigint;
BEGIN
  PERFORM billing_account(p_user_id, p_initial_balance);
  SELECT * INTO v_account FROM billing_accounts WHERE user_id = p_user_id FOR UPDATE;
  IF v_account.balance - v_account.held + p_amount < 0 THEN
    RETURN QUERY SELECT v_account.balance, v_account.balance - v_account.held, NULL::bigint;
    RETURN;
  END IF;
  UPDATE billing_accounts
    SET balance = billing_accounts.balance + p_amount, transaction_count = transaction_count + 1, updated_at = now()
    WHERE user_id = p_user_id
    RETURNING * INTO v_account;
  INSERT INTO billing_transactions (user_id, seq, kind, amount, balance_after, description, actor)
    VALUES (
      p_user_id, v_account.transaction_count, CASE WHEN p_amount >= 0 THEN 'credit' ELSE 'adjustment' END,
      p_amount, v_account.balance, p_description, p_actor
    )
    RETURNING id INTO v_transaction_id;
  RETURN QUERY SELECT v_account.balance, v_account.balance - v_account.held, v_transaction_id;
END
$$;

-- Releases holds that expired before `p_now` (left by crashed processes), at most `p_limit`
-- of them; returns how many. One sweeper at a time (the advisory lock), so that its
-- multi-account update cannot deadlock with another sweeper's.
CREATE FUNCTION billing_release_expired(p_now timestamptz, p_limit integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_released integer;
BEGIN
  IF NOT pg_try_advisory_xact_lock(hashtext('billing_release_expired')) THEN
    RETURN 0;
  END IF;
  WITH expired AS (
    DELETE FROM billing_holds
    WHERE id IN (
      SELECT id FROM billing_holds WHERE expires_at < p_now ORDER BY expires_at LIMIT p_limit FOR UPDATE SKIP LOCKED
    )
    RETURNING user_id, amount
  ), per_account AS (
    SELECT user_id, sum(amount) AS amount, count(*) AS holds FROM expired GROUP BY user_id
  ), released AS (
    UPDATE billing_accounts a SET held = a.held - p.amount, updated_at = now()
    FROM per_account p WHERE a.user_id = p.user_id
    RETURNING p.holds
  )
  SELECT coalesce(sum(holds), 0) INTO v_released FROM released;
  RETURN v_released;
END
$$;
