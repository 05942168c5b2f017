import { describe, expect, it } from "vitest"
import { migrationFiles, splitStatements } from "../../src/storage/Migrations.ts"

describe("splitStatements", () => {
  it("splits at top-level semicolons and drops empty and comment-only pieces", () => {
    expect(
      splitStatements("-- header; with a semicolon\nCREATE TABLE a (x int);\n\n;  SELECT 1;\n/* tail; */")
    ).toEqual(["-- header; with a semicolon\nCREATE TABLE a (x int)", "SELECT 1"])
  })

  it("keeps semicolons inside quotes, doubled quotes and dollar-quoted bodies", () => {
    const script = [
      "INSERT INTO t VALUES ('a;b', 'it''s; fine', \"odd;name\")",
      "CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END $$",
      "CREATE FUNCTION g() RETURNS text LANGUAGE sql AS $body$ SELECT '$$;' $body$",
      "SELECT $1::int"
    ]
    expect(splitStatements(script.join(";\n") + ";")).toEqual(script)
  })

  it("splits the shipped migrations into statements that all end where they should", () => {
    for (const file of migrationFiles) {
      const statements = splitStatements(file.sql)
      expect(statements.length).toBeGreaterThan(1)
      for (const statement of statements) expect(statement).toMatch(/^(--[^\n]*\n|\s)*(CREATE|ALTER|INSERT|DROP)\b/)
    }
  })
})
