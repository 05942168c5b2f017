/**
 * Mutation testing for the ledger's SQL functions, which a JavaScript mutator cannot reach
 * (`npm run mutation:sql`, docs/testing.md). Each mutant is one realistic one-line bug planted
 * in a function the gateway calls (billing_apply, billing_sweep_expired and billing_post_charge,
 * billing_credit, billing_account, and the usage reports' trigger billing_usage_rollup). For each, a scratch database is migrated, the function is
 * replaced by its mutated text, and the billing integration suites run against copies of it
 * (TEST_DATABASE_TEMPLATE, read by test/support/database.ts); a mutant is killed when a suite
 * fails. The unmutated schema runs first: if the suites fail on it, nothing else is measured.
 *
 *   npm run mutation:sql                 every mutant
 *   npm run mutation:sql -- apply-budget one mutant (or several) by id
 *
 * Writes reports/sql-mutants.json; exits non-zero when a mutant not marked equivalent survives
 * (or one marked equivalent is killed: then it was not).
 */
import { spawnSync } from "node:child_process"
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join, relative } from "node:path"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { migrate, migrationFiles } from "../src/storage/Migrations.ts"
import { freshDatabase } from "../test/support/database.ts"
import { runSql } from "../test/support/sql.ts"

interface Mutant {
  readonly id: string
  /** The function whose latest definition in migrations/ is mutated. */
  readonly fn: string
  readonly find: string
  readonly replace: string
  /** What the bug would do to users. */
  readonly effect: string
  /** Why no test can kill it, for a mutant that behaves like the original. */
  readonly equivalent?: string
}

const mutants: ReadonlyArray<Mutant> = [
  {
    id: "apply-budget-ignores-holds",
    fn: "billing_apply",
    find: "v_budget := v_balance - v_held - r.prompt_cost;",
    replace: "v_budget := v_balance - r.prompt_cost;",
    effect: "concurrent requests each reserve the whole balance: the account is overdrawn"
  },
  {
    id: "apply-budget-ignores-choices",
    fn: "billing_apply",
    find: "div(v_budget * 1000000, r.output_price * r.choices)",
    replace: "div(v_budget * 1000000, r.output_price)",
    effect: "n > 1 gets n times the completion budget the balance pays for"
  },
  {
    id: "apply-zero-tokens-reserved",
    fn: "billing_apply",
    find: "IF v_tokens < 1 THEN",
    replace: "IF v_tokens < 0 THEN",
    effect: "a request that cannot pay for one token is sent upstream with max_tokens 0"
  },
  {
    id: "apply-negative-budget-clamp",
    fn: "billing_apply",
    find: "WHEN v_budget < 0 THEN 0",
    replace: "WHEN v_budget <= 0 THEN 0",
    effect: "none",
    equivalent: "a budget of exactly 0 gives div(0, price) = 0 tokens on the other branch too"
  },
  {
    id: "apply-free-model-refused",
    fn: "billing_apply",
    find: "WHEN r.output_price = 0 THEN r.max_tokens",
    replace: "WHEN r.output_price = 0 THEN 0",
    effect: "a model with a free output price is refused with 402"
  },
  {
    id: "apply-hold-rounded-down",
    fn: "billing_apply",
    find: "ceil(v_tokens * r.choices * r.output_price * 1000)",
    replace: "floor(v_tokens * r.choices * r.output_price * 1000)",
    effect: "a hold short of the worst case by under a nano-dollar"
  },
  {
    id: "apply-hold-ignores-choices",
    fn: "billing_apply",
    find: "ceil(v_tokens * r.choices * r.output_price * 1000)",
    replace: "ceil(v_tokens * r.output_price * 1000)",
    effect: "n > 1 holds the price of one completion"
  },
  {
    id: "apply-hold-not-held",
    fn: "billing_apply",
    find: "v_held := v_held + v_amount;",
    replace: "v_held := v_held;",
    effect: "holds do not reduce what is available"
  },
  {
    id: "apply-replayed-reserve-holds-twice",
    fn: "billing_apply",
    find: "IF r.keyed_id IS NOT NULL THEN",
    replace: "IF false THEN",
    effect: "a reserve sent again after a lost answer makes a second hold"
  },
  {
    id: "apply-settle-keeps-hold-held",
    fn: "billing_apply",
    find: "v_held := v_held - v_hold.amount;\n        v_changed := true;\n        IF r.cost IS NULL THEN",
    replace: "v_changed := true;\n        IF r.cost IS NULL THEN",
    effect: "a settled request's hold stays counted against the balance"
  },
  {
    id: "apply-charge-ignores-holds",
    fn: "billing_apply",
    find: "charged := LEAST(v_charge, GREATEST(v_balance - v_held, 0));",
    replace: "charged := LEAST(v_charge, GREATEST(v_balance, 0));",
    effect: "a charge takes money other requests in flight hold"
  },
  {
    id: "apply-charge-uncapped",
    fn: "billing_apply",
    find: "charged := LEAST(v_charge, GREATEST(v_balance - v_held, 0));",
    replace: "charged := v_charge;",
    effect: "a usage beyond the balance takes it below zero"
  },
  {
    id: "apply-uncollected-lost",
    fn: "billing_apply",
    find: "uncollected := v_charge - charged;",
    replace: "uncollected := 0;",
    effect: "what could not be charged is not recorded"
  },
  {
    id: "apply-balance-not-charged",
    fn: "billing_apply",
    find: "v_balance := v_balance - charged;",
    replace: "v_balance := v_balance;",
    effect: "charges are written to the ledger but the balance does not drop"
  },
  {
    id: "apply-seq-not-advanced",
    fn: "billing_apply",
    find: "v_count := v_count + 1;",
    replace: "v_count := v_count;",
    effect: "a charge reuses the account's last sequence number"
  },
  {
    id: "apply-double-settle-charges-again",
    fn: "billing_apply",
    find: "IF FOUND OR r.cost IS NULL THEN",
    replace: "IF r.cost IS NULL THEN",
    effect: "a settle sent again charges its hold a second time"
  },
  {
    id: "apply-earlier-charge-sign",
    fn: "billing_apply",
    find: "charged := coalesce(-v_earlier.amount, 0);",
    replace: "charged := coalesce(v_earlier.amount, 0);",
    effect: "a repeated settle reports the earlier charge as negative"
  },
  {
    id: "apply-ledger-charge-sign",
    fn: "billing_apply",
    find: "'charge', -c.charged,",
    replace: "'charge', c.charged,",
    effect: "the ledger records charges as credits"
  },
  {
    id: "apply-available-ignores-holds",
    fn: "billing_apply",
    find: "available := v_balance - v_held;",
    replace: "available := v_balance;",
    effect: "the gateway reports holds as available money"
  },
  {
    id: "apply-renewal-not-extended",
    fn: "billing_apply",
    find: "expires_at = r.expires_at,",
    replace: "expires_at = h.expires_at,",
    effect: "a long request's hold expires under it and is swept"
  },
  {
    id: "apply-renewal-meters-nothing",
    fn: "billing_apply",
    find: "metered_cost = r.cost,",
    replace: "metered_cost = NULL,",
    effect: "a request whose process dies is never charged what it metered"
  },
  {
    id: "apply-cancel-keeps-hold-held",
    fn: "billing_apply",
    find: "v_held := v_held - v_hold.amount;\n        v_changed := true;\n        status := 'released';",
    replace: "v_changed := true;\n        status := 'released';",
    effect: "a cancelled reservation's money stays held"
  },
  {
    id: "apply-charges-without-flush",
    fn: "billing_apply",
    find: "WHERE q.kind NOT IN ('reserve', 'cancel')",
    replace: "WHERE q.kind NOT IN ('reserve', 'cancel', 'settle')",
    effect: "a charge is answered before it is durable: a database crash loses it after the client was answered"
  },
  {
    id: "apply-settle-by-id",
    fn: "billing_apply",
    find: "v_target := CASE WHEN r.key IS NULL THEN r.hold_id ELSE r.keyed_id END;\n      DELETE",
    replace: "v_target := r.hold_id;\n      DELETE",
    effect: "after a database crash, a lost hold's settle releases another request's hold that got its id"
  },
  {
    id: "apply-renew-by-id",
    fn: "billing_apply",
    find: "v_target := CASE WHEN r.key IS NULL THEN r.hold_id ELSE r.keyed_id END;\n      UPDATE",
    replace: "v_target := r.hold_id;\n      UPDATE",
    effect: "after a database crash, a lost hold's renewal writes its usage on another request's hold"
  },
  {
    id: "apply-earlier-charge-by-id",
    fn: "billing_apply",
    find: "WHERE t.reservation_key = r.key;",
    replace: "WHERE t.hold_id = r.hold_id;",
    effect: "a settle sent again for a hold lost in a database crash charges it a second time"
  },
  {
    id: "apply-batch-duplicate-by-key",
    fn: "billing_apply",
    find: "ELSE array_position(v_charge_key, r.key) END;",
    replace: "ELSE NULL END;",
    effect: "a settle sent twice in one batch charges its hold twice"
  },
  {
    id: "sweep-charge-without-key",
    fn: "billing_sweep_expired",
    find: "v_hold.user_id, v_hold.id, v_hold.reservation_key, v_hold.request_id,",
    replace: "v_hold.user_id, v_hold.id, NULL, v_hold.request_id,",
    effect: "a request whose expired hold the sweeper charged is charged again by its own settle"
  },
  {
    id: "sweep-early",
    fn: "billing_sweep_expired",
    find: "WHERE h.expires_at < p_now",
    replace: "WHERE h.expires_at < p_now + interval '5 minutes'",
    effect: "holds are swept five minutes before they expire"
  },
  {
    id: "sweep-keeps-held",
    fn: "billing_sweep_expired",
    find: "SET held = a.held - v_hold.amount,",
    replace: "SET held = a.held,",
    effect: "a swept hold stays counted against the balance"
  },
  {
    id: "sweep-charges-nothing",
    fn: "billing_sweep_expired",
    find: "IF v_hold.metered_cost IS NULL THEN",
    replace: "IF true THEN",
    effect: "an expired hold is released without charging what its request metered"
  },
  {
    id: "post-charge-uncapped",
    fn: "billing_post_charge",
    find: "v_charge := LEAST(p_cost, GREATEST(v_account.balance - v_account.held, 0));",
    replace: "v_charge := p_cost;",
    effect: "the sweeper's charge can take a balance below zero"
  },
  {
    id: "credit-ignores-holds",
    fn: "billing_credit",
    find: "IF v_account.balance - v_account.held + p_amount < 0 THEN",
    replace: "IF v_account.balance + p_amount < 0 THEN",
    effect: "an adjustment takes money requests in flight hold"
  },
  {
    id: "credit-kind",
    fn: "billing_credit",
    find: "CASE WHEN p_amount >= 0 THEN 'credit' ELSE 'adjustment' END",
    replace: "'credit'",
    effect: "adjustments are listed as credits"
  },
  {
    id: "account-initial-amount",
    fn: "billing_account",
    find: "VALUES (p_user_id, 1, 'initial', p_initial_balance, p_initial_balance, 'Initial balance');",
    replace: "VALUES (p_user_id, 1, 'initial', 0, p_initial_balance, 'Initial balance');",
    effect: "the initial balance is missing from the ledger's sum"
  },
  {
    id: "usage-rollup-counts-credits",
    fn: "billing_usage_rollup",
    find: "WHERE kind = 'charge'",
    replace: "WHERE kind IN ('charge', 'credit')",
    effect: "usage reports count top-ups as requests with a negative spend"
  },
  {
    id: "usage-rollup-overwrites-the-day",
    fn: "billing_usage_rollup",
    find: "requests = d.requests + excluded.requests,",
    replace: "requests = excluded.requests,",
    effect: "a day's request count is the last batch's, not the day's"
  }
]

/** The billing suites: they go through every one of these functions with a real database. */
const suites = [
  "test/integration/billing-reserve.test.ts",
  "test/integration/billing-settle.test.ts",
  "test/integration/billing-holds.test.ts",
  "test/integration/billing-batch.test.ts",
  "test/integration/billing-renewal.test.ts",
  "test/integration/billing-retry.test.ts",
  "test/integration/billing-policy.test.ts",
  "test/integration/billing-costs.test.ts",
  "test/integration/billing-api.test.ts",
  "test/integration/billing-usage.test.ts"
]

/** The latest `CREATE [OR REPLACE] FUNCTION name(...)` in migrations/, made replaceable. */
const definitionOf = (fn: string): string => {
  const pattern = new RegExp(String.raw`CREATE (?:OR REPLACE )?FUNCTION ${fn}\([\s\S]*?\n\$\$`, "g")
  const found = migrationFiles.flatMap((file) => [...file.sql.matchAll(pattern)].map((match) => match[0]))
  const latest = found.at(-1)
  if (latest === undefined) throw new Error(`No definition of ${fn} in migrations/`)
  return latest.replace(/^CREATE (?:OR REPLACE )?FUNCTION/, "CREATE OR REPLACE FUNCTION")
}

const mutated = (mutant: Mutant): string => {
  const original = definitionOf(mutant.fn)
  const at = original.indexOf(mutant.find)
  if (at === -1 || original.indexOf(mutant.find, at + 1) !== -1) {
    throw new Error(`Mutant ${mutant.id}: its text is not found exactly once in ${mutant.fn}; update the mutant`)
  }
  return original.slice(0, at) + mutant.replace + original.slice(at + mutant.find.length)
}

interface Outcome {
  readonly id: string
  readonly status:
    "killed" | "killed, first by a timeout" | "survived" | "equivalent (survived)" | "equivalent, yet killed"
  readonly seconds: number
  readonly killedBy?: string
}

const isTimeout = (message: string) => /^(Test|Hook)TimeoutError|timed out in \d+ms/.test(message)

/** The failed tests of a vitest JSON report, each with its first failure message. */
const failuresIn = (json: string): ReadonlyArray<{ readonly test: string; readonly message: string }> => {
  const report = JSON.parse(json) as {
    readonly testResults: ReadonlyArray<{
      readonly name: string
      readonly message?: string
      readonly assertionResults: ReadonlyArray<{
        readonly fullName: string
        readonly status: string
        readonly failureMessages: ReadonlyArray<string>
      }>
    }>
  }
  return report.testResults.flatMap((file) => {
    const where = relative(process.cwd(), file.name)
    const tests = file.assertionResults
      .filter((test) => test.status === "failed")
      .map((test) => ({ test: `${where} > ${test.fullName}`, message: test.failureMessages[0] ?? "failed" }))
    return tests.length === 0 && file.message ? [{ test: where, message: file.message }] : tests
  })
}

interface Run {
  readonly passed: boolean
  readonly seconds: number
  /** The test that failed first, preferring one that failed on an assertion to one that timed out. */
  readonly failed: string | undefined
  readonly timeoutOnly: boolean
}

/** Migrates a scratch database, plants the mutant (none: the original), runs the suites against copies of it. */
const run = async (mutant: Mutant | undefined): Promise<Run> => {
  const started = Date.now()
  const template = await freshDatabase("sqlmut")
  try {
    await runSql(
      template.url,
      Effect.gen(function* () {
        yield* migrate
        if (mutant !== undefined) yield* (yield* SqlClient.SqlClient).unsafe(mutated(mutant))
      })
    )
    const report = join(tmpdir(), `${template.name}.json`)
    const vitest = spawnSync(
      "npx",
      ["vitest", "run", "--bail=1", "--reporter=dot", "--reporter=json", `--outputFile.json=${report}`, ...suites],
      { env: { ...process.env, REQUIRE_SERVICES: "1", TEST_DATABASE_TEMPLATE: template.name }, encoding: "utf8" }
    )
    const failures = existsSync(report) ? failuresIn(readFileSync(report, "utf8")) : []
    rmSync(report, { force: true })
    // A test that failed on an assertion (or an error) kills the mutant outright; a timeout is a weaker catch,
    // reported as such when it is the only failure before the run stopped (--bail: the first failure ends it).
    const failed = failures.find((failure) => !isTimeout(failure.message)) ?? failures[0]
    return {
      passed: vitest.status === 0,
      seconds: Math.round((Date.now() - started) / 1000),
      failed: failed && `${failed.test}: ${failed.message.split("\n")[0]!.slice(0, 200)}`,
      timeoutOnly: failed !== undefined && isTimeout(failed.message)
    }
  } finally {
    await template.drop()
  }
}

const main = async () => {
  const chosen = process.argv.slice(2)
  const selected = chosen.length === 0 ? mutants : mutants.filter((mutant) => chosen.includes(mutant.id))
  if (selected.length === 0) throw new Error(`No mutant named ${chosen.join(", ")}`)
  for (const mutant of selected) mutated(mutant) // every mutant still matches the migrations, before any run

  const baseline = await run(undefined)
  console.log(`original schema: ${baseline.passed ? "suites pass" : "SUITES FAIL"} (${baseline.seconds} s)`)
  if (!baseline.passed) throw new Error(`The billing suites fail without a mutant: ${baseline.failed ?? "see vitest"}`)

  const outcomes: Array<Outcome> = []
  for (const mutant of selected) {
    const result = await run(mutant)
    const status: Outcome["status"] = result.passed
      ? mutant.equivalent === undefined
        ? "survived"
        : "equivalent (survived)"
      : mutant.equivalent !== undefined
        ? "equivalent, yet killed"
        : result.timeoutOnly
          ? "killed, first by a timeout"
          : "killed"
    outcomes.push({
      id: mutant.id,
      status,
      seconds: result.seconds,
      ...(result.failed ? { killedBy: result.failed } : {})
    })
    console.log(
      `${status.padEnd(22)} ${mutant.id} (${result.seconds} s)${result.failed ? `  by ${result.failed}` : ""}`
    )
  }

  const killed = outcomes.filter((outcome) => outcome.status.startsWith("killed")).length
  const measured = outcomes.filter((outcome) => !outcome.status.startsWith("equivalent")).length
  console.log(`\n${killed} of ${measured} non-equivalent mutants killed (${((100 * killed) / measured).toFixed(1)} %)`)
  mkdirSync("reports", { recursive: true })
  writeFileSync("reports/sql-mutants.json", JSON.stringify({ mutants: selected, outcomes, killed, measured }, null, 2))
  // A survivor is a gap in the tests; an "equivalent" mutant that a test kills was not equivalent: fix the list.
  if (outcomes.some((outcome) => outcome.status === "survived" || outcome.status === "equivalent, yet killed")) {
    process.exitCode = 1
  }
}

await main()
