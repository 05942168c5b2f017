-- Idempotency keys (the `Idempotency-Key` request header): a request sent again with the key of one that succeeded
-- gets the stored answer, and is neither sent upstream nor charged again.
--
-- A row is `running` while its first request is in flight (a repeat then gets 409), `done` once it succeeded (a
-- repeat gets `status`, `headers` and `body` back). `expires_at` is the lease of a running row, renewed while its
-- request runs (a row whose process died is free again once it lapses), and the end of retention of a done one;
-- the sweeper deletes expired rows. Times are the database's (`now()`), the one clock every gateway shares.
CREATE TABLE idempotency_keys (
  user_id text NOT NULL,
  key text NOT NULL,
  -- sha256 of the request's method, path and body: the same key with another request is refused (422).
  fingerprint text NOT NULL,
  state text NOT NULL CHECK (state IN ('running', 'done')),
  status integer,
  headers jsonb,
  body text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (user_id, key),
  CHECK ((state = 'done') = (status IS NOT NULL AND headers IS NOT NULL AND body IS NOT NULL))
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
