import * as Cause from "effect/Cause"
import * as Schema from "effect/Schema"
import * as SchemaIssue from "effect/SchemaIssue"

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** `messages[0].role` from `["messages", 0, "role"]`. */
export const formatPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.reduce<string>(
    (out, key) => (typeof key === "number" ? `${out}[${key}]` : out === "" ? String(key) : `${out}.${String(key)}`),
    ""
  )

export interface FieldProblem {
  /** The field at fault, as a dotted path; undefined when it is the whole value. */
  readonly field: string | undefined
  readonly message: string
}

/** The first problem of a schema error, naming the field. */
export const firstProblem = (error: Schema.SchemaError): FieldProblem => {
  const [first] = formatIssues(error.issue).issues
  if (first === undefined) return { field: undefined, message: error.message }
  const field =
    first.path === undefined || first.path.length === 0
      ? undefined
      : formatPath(first.path.map((segment) => (typeof segment === "object" ? segment.key : segment)))
  return { field, message: first.message }
}

export const describeProblem = (problem: FieldProblem): string =>
  problem.field === undefined ? problem.message : `${problem.field}: ${problem.message}`

/** A readable one-line description of a decoding failure. */
export const formatSchemaError = (cause: Cause.Cause<Schema.SchemaError>): string => {
  const error = Cause.findErrorOption(cause)
  return error._tag === "Some" ? describeProblem(firstProblem(error.value)) : Cause.pretty(cause)
}
