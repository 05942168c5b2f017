-- Usage reports (GET /billing/usage): each account's charges summed per UTC day and model, kept up to date as the
-- ledger is written, so that a report reads at most days × models rows however many charges the period holds
-- (a year of one account: a few hundred rows, where the ledger may hold millions).
--
-- Invariant, checked by the test suite's ledger checks: every row equals the sums of the account's charges of
-- that day and model in billing_transactions.
CREATE TABLE billing_usage_daily (
  user_id text NOT NULL REFERENCES billing_accounts (user_id),
  day date NOT NULL,
  model text NOT NULL,
  requests bigint NOT NULL,
  -- What the charges took from the balance (the ledger's amounts, negated): exact, as the ledger's.
  spend numeric(30, 9) NOT NULL,
  prompt_tokens bigint NOT NULL,
  completion_tokens bigint NOT NULL,
  cached_tokens bigint NOT NULL,
  reasoning_tokens bigint NOT NULL,
  PRIMARY KEY (user_id, day, model)
);
-- Every user's usage over a period (admins' reports).
CREATE INDEX billing_usage_daily_day ON billing_usage_daily (day);

-- One upsert per statement that writes charges (a batch of the ledger writer writes all its charges in one
-- statement), not one per charge. The rows it updates belong to accounts whose rows the writing transaction has
-- already locked, so it adds no lock that concurrent batches of other accounts could wait on.
CREATE FUNCTION billing_usage_rollup() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO billing_usage_daily AS d (
    user_id, day, model, requests, spend, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens
  )
    SELECT user_id, (created_at AT TIME ZONE 'UTC')::date, coalesce(model, 'unknown'), count(*), -sum(amount),
           coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), coalesce(sum(cached_tokens), 0),
           coalesce(sum(reasoning_tokens), 0)
    FROM inserted
    WHERE kind = 'charge'
    GROUP BY 1, 2, 3
    ORDER BY 1, 2, 3
  ON CONFLICT (user_id, day, model) DO UPDATE SET
    requests = d.requests + excluded.requests,
    spend = d.spend + excluded.spend,
    prompt_tokens = d.prompt_tokens + excluded.prompt_tokens,
    completion_tokens = d.completion_tokens + excluded.completion_tokens,
    cached_tokens = d.cached_tokens + excluded.cached_tokens,
    reasoning_tokens = d.reasoning_tokens + excluded.reasoning_tokens;
  RETURN NULL;
END
$$;

CREATE TRIGGER billing_transactions_usage AFTER INSERT ON billing_transactions
  REFERENCING NEW TABLE AS inserted
  FOR EACH STATEMENT EXECUTE FUNCTION billing_usage_rollup();

-- The charges written before this migration.
INSERT INTO billing_usage_daily (
  user_id, day, model, requests, spend, prompt_tokens, completion_tokens, cached_tokens, reasoning_tokens
)
  SELECT user_id, (created_at AT TIME ZONE 'UTC')::date, coalesce(model, 'unknown'), count(*), -sum(amount),
         coalesce(sum(prompt_tokens), 0), coalesce(sum(completion_tokens), 0), coalesce(sum(cached_tokens), 0),
         coalesce(sum(reasoning_tokens), 0)
  FROM billing_transactions
  WHERE kind = 'charge'
  GROUP BY 1, 2, 3;
