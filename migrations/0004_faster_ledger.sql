-- The ledger's hot path at a fraction of its cost on a gateway that is not busy: billing_apply (0003) plans
-- less, runs less, and a batch that only makes holds no longer waits for its WAL flush.
--
--   * Generic plans. Every statement of billing_apply is planned around arrays whose length the planner cannot
--     know, so a custom plan per call (PostgreSQL's default for the first five calls of each session's statement,
--     and whenever it guesses a custom plan is cheaper) plans the same shape again: for a batch of one request,
--     planning cost more than running. Measured in a scratch database on 2,000 reserve-and-settle pairs of one
--     request each in one transaction (no commit): 1.0–1.2 ms per pair before, 0.5–0.6 ms with generic plans; the
--     same per request in batches of 200 (0.10–0.13 ms).
--   * A statement with nothing to do is not run: the accounts of first-time users when the batch holds no reserve,
--     the new holds when none was made, the charges when none was made.
--   * Holds are addressed by their reservation key, a UUID the gateway generated, not by their id: renewals and
--     settles carry the key (by id only when they have none), and a charge records the key of its reservation,
--     unique in the ledger like the hold id. A hold id comes from a sequence, and a sequence can hand out a value
--     again after a database crash lost the transaction that took it first; a key cannot be handed out again.
--   * So a batch of reserves and cancels commits without waiting for its WAL flush (synchronous_commit off for
--     that transaction only); a batch with a settle or a renewal waits, as before, and its flush makes every
--     earlier commit durable too. What a crash of the database can lose is then the holds made in the last
--     moments before it, each with its increment of `held`, in one transaction: the accounts stay exact. The
--     request of a lost hold still runs and is still charged once: its settle finds no hold for its key and no
--     charge for it, so it charges the true cost up to what is available and records the rest as uncollected
--     (the path of a settle whose hold the sweeper released), with no hold id. Nothing is charged twice, no
--     balance goes below zero; what a crash can cost is a shortfall, recorded. What it saves is one fsync per
--     request on the answer's path (docs/billing.md).

ALTER TABLE billing_transactions ADD COLUMN reservation_key uuid;
CREATE UNIQUE INDEX billing_transactions_reservation_key ON billing_transactions (reservation_key);
-- A charge names its hold, its reservation, or both.
ALTER TABLE billing_transactions
  DROP CONSTRAINT billing_transactions_check,
  ADD CONSTRAINT billing_transactions_charge_names_its_hold
    CHECK ((kind = 'charge') = (hold_id IS NOT NULL OR reservation_key IS NOT NULL));

-- The reads of each kind as in 0003, with one more: renew and settle read `key`, the reservation key of the
-- hold they address (NULL: address it by hold_id).
CREATE OR REPLACE FUNCTION billing_apply(
  p_initial_balance numeric,
  p_kind text[],
  p_user_id text[],
  p_hold_id bigint[],
  p_key uuid[],
  p_request_id text[],
  p_model text[],
  p_expires_at timestamptz[],
  p_prompt_cost numeric[],
  p_choices integer[],
  p_max_tokens integer[],
  p_description text[],
  p_cost numeric[],
  p_usage_source text[],
  p_prompt_tokens bigint[],
  p_cached_tokens bigint[],
  p_cache_write_tokens bigint[],
  p_completion_tokens bigint[],
  p_reasoning_tokens bigint[],
  p_input_price numeric[],
  p_cached_input_price numeric[],
  p_cache_write_price numeric[],
  p_output_price numeric[]
) RETURNS TABLE (
  ordinal integer,
  status text,
  hold_id bigint,
  amount numeric,
  max_tokens integer,
  charged numeric,
  uncollected numeric,
  balance numeric,
  available numeric
)
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
  r record;
  -- The account being worked on, and its running state.
  v_user text;
  v_balance numeric;
  v_held numeric;
  v_count bigint;
  v_changed boolean := false;
  v_hold billing_holds;
  v_earlier billing_transactions;
  v_budget numeric;
  v_tokens numeric;
  v_amount numeric;
  v_charge numeric;
  v_at integer;
  -- The hold a renew or settle addresses: by its reservation key (by id only for a request without one).
  v_target bigint;
  -- The holds and the charges this batch makes, written once each after the loop: by request ordinal.
  v_new_holds integer := 0;
  v_hold_ord integer[] := '{}';
  v_hold_id bigint[] := '{}';
  v_hold_amount numeric[] := '{}';
  v_hold_tokens integer[] := '{}';
  v_charges integer := 0;
  v_charge_ord integer[] := '{}';
  v_charge_hold bigint[] := '{}';
  v_charge_key uuid[] := '{}';
  v_charge_seq bigint[] := '{}';
  v_charge_amount numeric[] := '{}';
  v_charge_balance numeric[] := '{}';
  v_charge_uncollected numeric[] := '{}';
BEGIN
  -- 0. A batch that only makes and cancels holds commits without waiting for its WAL flush (the header above).
  IF NOT EXISTS (SELECT 1 FROM unnest(p_kind) AS q (kind) WHERE q.kind NOT IN ('reserve', 'cancel')) THEN
    PERFORM set_config('synchronous_commit', 'off', true);
  END IF;

  -- 1. The holds this batch renews, settles or cancels, by id.
  PERFORM 1 FROM billing_holds h
    WHERE h.id = ANY (p_hold_id) OR h.reservation_key = ANY (p_key)
    ORDER BY h.id
    FOR UPDATE;

  -- 2. The accounts of first-time users, by user_id, each with its initial transaction. A concurrent first
  --    request of the same user (another batch, another process) makes this wait for its commit, then skip.
  IF 'reserve' = ANY (p_kind) THEN
    WITH opened AS (
      INSERT INTO billing_accounts (user_id, balance, transaction_count)
      SELECT DISTINCT q.user_id, p_initial_balance, 1 FROM unnest(p_user_id, p_kind) AS q (user_id, kind)
        WHERE q.kind = 'reserve' AND NOT EXISTS (SELECT 1 FROM billing_accounts a WHERE a.user_id = q.user_id)
        ORDER BY q.user_id
      ON CONFLICT (user_id) DO NOTHING
      RETURNING billing_accounts.user_id, billing_accounts.balance
    )
    INSERT INTO billing_transactions (user_id, seq, kind, amount, balance_after, description)
      SELECT o.user_id, 1, 'initial', o.balance, o.balance, 'Initial balance' FROM opened o;
  END IF;

  -- 3. The accounts whose money moves, by user_id: once each, for the whole batch (a renewal moves none).
  PERFORM 1 FROM billing_accounts a
    WHERE a.user_id IN (SELECT q.user_id FROM unnest(p_user_id, p_kind) AS q (user_id, kind) WHERE q.kind <> 'renew')
    ORDER BY a.user_id
    FOR UPDATE;

  -- 4. Each account's requests in arrival order, against its running balance; its row written once at the end.
  FOR r IN
    SELECT q.kind, q.user_id, q.hold_id, q.key, q.prompt_cost, q.choices, q.max_tokens, q.cost, q.output_price, q.ord,
           q.expires_at, q.model, q.usage_source, q.prompt_tokens, q.cached_tokens, q.cache_write_tokens,
           q.completion_tokens, q.reasoning_tokens, q.input_price, q.cached_input_price, q.cache_write_price,
           a.balance AS account_balance, a.held AS account_held, a.transaction_count AS account_count,
           k.id AS keyed_id, k.amount AS keyed_amount, k.max_tokens AS keyed_tokens
    FROM unnest(
      p_kind, p_user_id, p_hold_id, p_key, p_prompt_cost, p_choices, p_max_tokens, p_cost, p_output_price,
      p_expires_at, p_model, p_usage_source, p_prompt_tokens, p_cached_tokens, p_cache_write_tokens,
      p_completion_tokens, p_reasoning_tokens, p_input_price, p_cached_input_price, p_cache_write_price
    ) WITH ORDINALITY AS q (
      kind, user_id, hold_id, key, prompt_cost, choices, max_tokens, cost, output_price,
      expires_at, model, usage_source, prompt_tokens, cached_tokens, cache_write_tokens,
      completion_tokens, reasoning_tokens, input_price, cached_input_price, cache_write_price, ord
    )
    LEFT JOIN billing_accounts a ON a.user_id = q.user_id
    -- The hold of the request's reservation key: for a reserve sent again after its answer was lost, the hold
    -- it made the first time; for a renew or a settle, the hold it addresses.
    LEFT JOIN billing_holds k ON k.reservation_key = q.key
    ORDER BY q.user_id, q.ord
  LOOP
    IF v_user IS DISTINCT FROM r.user_id THEN
      IF v_changed THEN
        UPDATE billing_accounts a
          SET balance = v_balance, held = v_held, transaction_count = v_count, updated_at = now()
          WHERE a.user_id = v_user;
      END IF;
      v_user := r.user_id;
      v_balance := r.account_balance;
      v_held := r.account_held;
      v_count := r.account_count;
      v_changed := false;
    END IF;

    ordinal := r.ord;
    hold_id := NULL;
    amount := NULL;
    max_tokens := NULL;
    charged := NULL;
    uncollected := NULL;
    v_charge := NULL;

    IF r.kind = 'reserve' THEN
      IF r.keyed_id IS NOT NULL THEN
        status := 'reserved';
        hold_id := r.keyed_id;
        amount := r.keyed_amount;
        max_tokens := r.keyed_tokens;
      ELSE
        -- What is left for the completion once the prompt is paid for; div() is exact integer division.
        v_budget := v_balance - v_held - r.prompt_cost;
        v_tokens := CASE
          WHEN v_budget < 0 THEN 0
          WHEN r.output_price = 0 THEN r.max_tokens
          ELSE LEAST(r.max_tokens, div(v_budget * 1000000, r.output_price * r.choices))
        END;
        IF v_tokens < 1 THEN
          status := 'insufficient';
        ELSE
          -- Rounded up to the nano-dollar, as Money.costOf rounds every cost.
          v_amount := r.prompt_cost + ceil(v_tokens * r.choices * r.output_price * 1000) * 0.000000001;
          v_held := v_held + v_amount;
          v_changed := true;
          v_new_holds := v_new_holds + 1;
          v_hold_ord[v_new_holds] := r.ord;
          v_hold_id[v_new_holds] := nextval('billing_holds_id_seq');
          v_hold_amount[v_new_holds] := v_amount;
          v_hold_tokens[v_new_holds] := v_tokens;
          status := 'reserved';
          hold_id := v_hold_id[v_new_holds];
          amount := v_amount;
          max_tokens := v_tokens;
        END IF;
      END IF;

    ELSIF r.kind = 'renew' THEN
      v_target := CASE WHEN r.key IS NULL THEN r.hold_id ELSE r.keyed_id END;
      UPDATE billing_holds h SET
        expires_at = r.expires_at,
        metered_at = now(),
        metered_model = r.model,
        metered_cost = r.cost,
        usage_source = r.usage_source,
        prompt_tokens = r.prompt_tokens,
        cached_tokens = r.cached_tokens,
        cache_write_tokens = r.cache_write_tokens,
        completion_tokens = r.completion_tokens,
        reasoning_tokens = r.reasoning_tokens,
        input_price_per_1m = r.input_price,
        cached_input_price_per_1m = r.cached_input_price,
        cache_write_price_per_1m = r.cache_write_price,
        output_price_per_1m = r.output_price
      WHERE h.id = v_target AND h.user_id = r.user_id;
      status := CASE WHEN FOUND THEN 'renewed' ELSE 'gone' END;

    ELSIF r.kind = 'settle' THEN
      v_target := CASE WHEN r.key IS NULL THEN r.hold_id ELSE r.keyed_id END;
      DELETE FROM billing_holds h WHERE h.id = v_target AND h.user_id = r.user_id RETURNING * INTO v_hold;
      IF FOUND THEN
        v_held := v_held - v_hold.amount;
        v_changed := true;
        IF r.cost IS NULL THEN
          status := 'released';
          charged := 0;
          uncollected := 0;
        ELSE
          v_charge := r.cost;
        END IF;
      ELSE
        -- Settled before (earlier in this batch, by a settle sent again, or by the sweeper), or released by the
        -- sweeper: a request that outlived its hold is still charged, once.
        v_at := CASE WHEN r.key IS NULL THEN array_position(v_charge_hold, r.hold_id)
                     ELSE array_position(v_charge_key, r.key) END;
        IF v_at IS NOT NULL THEN
          status := 'already_settled';
          charged := v_charge_amount[v_at];
          uncollected := v_charge_uncollected[v_at];
        ELSE
          IF r.key IS NULL THEN
            SELECT * INTO v_earlier FROM billing_transactions t WHERE t.hold_id = r.hold_id;
          ELSE
            SELECT * INTO v_earlier FROM billing_transactions t WHERE t.reservation_key = r.key;
          END IF;
          IF FOUND OR r.cost IS NULL THEN
            status := 'already_settled';
            charged := coalesce(-v_earlier.amount, 0);
            uncollected := coalesce(v_earlier.uncollected, 0);
          ELSE
            v_charge := r.cost;
          END IF;
        END IF;
      END IF;
      IF v_charge IS NOT NULL THEN
        -- Never capped at the hold: the true cost up to what is available, never below zero; the rest uncollected.
        charged := LEAST(v_charge, GREATEST(v_balance - v_held, 0));
        uncollected := v_charge - charged;
        v_balance := v_balance - charged;
        v_count := v_count + 1;
        v_changed := true;
        v_charges := v_charges + 1;
        v_charge_ord[v_charges] := r.ord;
        -- A hold lost with its reserve (the header above) leaves no id to record: its key identifies the charge.
        v_charge_hold[v_charges] := CASE WHEN v_hold.id IS NOT NULL THEN v_hold.id WHEN r.key IS NULL THEN r.hold_id END;
        v_charge_key[v_charges] := r.key;
        v_charge_seq[v_charges] := v_count;
        v_charge_amount[v_charges] := charged;
        v_charge_balance[v_charges] := v_balance;
        v_charge_uncollected[v_charges] := uncollected;
        status := 'charged';
      END IF;

    ELSIF r.kind = 'cancel' THEN
      DELETE FROM billing_holds h WHERE h.reservation_key = r.key AND h.user_id = r.user_id RETURNING * INTO v_hold;
      IF FOUND THEN
        v_held := v_held - v_hold.amount;
        v_changed := true;
        status := 'released';
      ELSE
        status := 'gone';
      END IF;

    ELSE
      RAISE EXCEPTION 'billing_apply: unknown request kind %', r.kind;
    END IF;

    balance := v_balance;
    available := v_balance - v_held;
    RETURN NEXT;
  END LOOP;

  IF v_changed THEN
    UPDATE billing_accounts a
      SET balance = v_balance, held = v_held, transaction_count = v_count, updated_at = now()
      WHERE a.user_id = v_user;
  END IF;

  -- 5. The new holds and the charges, each in one statement.
  IF v_new_holds > 0 THEN
    INSERT INTO billing_holds (id, user_id, amount, request_id, model, max_tokens, expires_at, reservation_key)
      OVERRIDING SYSTEM VALUE
      SELECT n.id, q.user_id, n.amount, q.request_id, q.model, n.tokens, q.expires_at, q.key
      FROM unnest(v_hold_ord, v_hold_id, v_hold_amount, v_hold_tokens) AS n (ord, id, amount, tokens)
      JOIN unnest(p_user_id, p_request_id, p_model, p_expires_at, p_key) WITH ORDINALITY
        AS q (user_id, request_id, model, expires_at, key, ord) USING (ord);
  END IF;
  IF v_charges > 0 THEN
    INSERT INTO billing_transactions (
      user_id, seq, kind, amount, balance_after, description, hold_id, reservation_key, request_id, model,
      usage_source, prompt_tokens, cached_tokens, cache_write_tokens, completion_tokens, reasoning_tokens,
      input_price_per_1m, cached_input_price_per_1m, cache_write_price_per_1m, output_price_per_1m, uncollected
    )
      SELECT q.user_id, c.seq, 'charge', -c.charged, c.balance_after, q.description, c.hold_id, c.key, q.request_id,
             q.model, q.usage_source, q.prompt_tokens, q.cached_tokens, q.cache_write_tokens, q.completion_tokens,
             q.reasoning_tokens, q.input_price, q.cached_input_price, q.cache_write_price, q.output_price, c.uncollected
      FROM unnest(v_charge_ord, v_charge_hold, v_charge_key, v_charge_seq, v_charge_amount, v_charge_balance, v_charge_uncollected)
        AS c (ord, hold_id, key, seq, charged, balance_after, uncollected)
      JOIN unnest(
        p_user_id, p_request_id, p_description, p_model, p_usage_source, p_prompt_tokens, p_cached_tokens,
        p_cache_write_tokens, p_completion_tokens, p_reasoning_tokens, p_input_price, p_cached_input_price,
        p_cache_write_price, p_output_price
      ) WITH ORDINALITY AS q (
        user_id, request_id, description, model, usage_source, prompt_tokens, cached_tokens,
        cache_write_tokens, completion_tokens, reasoning_tokens, input_price, cached_input_price,
        cache_write_price, output_price, ord
      ) USING (ord)
      ORDER BY q.user_id, c.seq;
  END IF;
END
$$;

-- 0002's signature, for its billing_settle (processes of an earlier version): a charge without a key, written by
-- the definition below (plpgsql, so that it may name a function defined after it).
CREATE OR REPLACE FUNCTION billing_post_charge(
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
BEGIN
  RETURN QUERY SELECT * FROM billing_post_charge(
    p_user_id, p_hold_id, NULL::uuid, p_request_id, p_description, p_cost, p_model, p_prompt_tokens, p_cached_tokens,
    p_cache_write_tokens, p_completion_tokens, p_reasoning_tokens, p_input_price, p_cached_input_price,
    p_cache_write_price, p_output_price, p_usage_source
  );
END
$$;

-- billing_post_charge (0002) recording the reservation key of the hold it charges.
CREATE FUNCTION billing_post_charge(
  p_user_id text,
  p_hold_id bigint,
  p_reservation_key uuid,
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
    user_id, seq, kind, amount, balance_after, description, hold_id, reservation_key, request_id, model,
    usage_source, prompt_tokens, cached_tokens, cache_write_tokens, completion_tokens, reasoning_tokens,
    input_price_per_1m, cached_input_price_per_1m, cache_write_price_per_1m, output_price_per_1m, uncollected
  ) VALUES (
    p_user_id, v_account.transaction_count, 'charge', -v_charge, v_account.balance, p_description, p_hold_id,
    p_reservation_key, p_request_id, p_model, p_usage_source,
    p_prompt_tokens, p_cached_tokens, p_cache_write_tokens, p_completion_tokens, p_reasoning_tokens,
    p_input_price, p_cached_input_price, p_cache_write_price, p_output_price, p_cost - v_charge
  );
  RETURN QUERY SELECT v_charge, p_cost - v_charge, v_account.balance, v_account.balance - v_account.held;
END
$$;

-- The sweep of 0002, its charges recording the reservation key of the hold, so that the hold's own settle,
-- arriving later with that key, finds the charge and writes nothing.
CREATE OR REPLACE FUNCTION billing_sweep_expired(p_now timestamptz, p_limit integer)
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
          v_hold.user_id, v_hold.id, v_hold.reservation_key, v_hold.request_id,
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
