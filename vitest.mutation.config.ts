import { defineConfig } from "vitest/config"

// The suites Stryker runs against each mutant (npm run mutation): the fast unit suites only, no
// database or Redis, so that a run stays near a quarter of an hour on two cores. docs/testing.md
// explains what this leaves to the integration suites and to the SQL mutants.
export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 60_000
  }
})
