/**
 * One environment variable of the configuration, declared once: the Schema Effect `Config` decodes it with (its
 * checks included), its default written as it would be in the environment, how a bad value is reported, and its
 * documentation (docs/configuration.md and .env.example are generated from it).
 *
 * Settings are read one at a time rather than with `Config.all`, which stops at the first failure: start-up
 * names every bad value at once. config/variables.ts declares them.
 */
import * as Config from "effect/Config"
import * as ConfigProvider from "effect/ConfigProvider"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Schema from "effect/Schema"
import * as SchemaTransformation from "effect/SchemaTransformation"

export interface Setting<A> {
  readonly _tag: "Setting"
  /** The environment variable. */
  readonly name: string
  readonly config: Config.Config<A>
  /** Stands in for an invalid value, so that the rules reading it still run and report their own problems. */
  readonly fallback: A
  /** What start-up says of a value that does not decode (`raw`: the value as given). */
  readonly problem: (raw: string) => string
  /** A check whose message is a sentence of its own, reported in the setting's place. */
  readonly rule?: ((value: A) => string | undefined) | undefined
  readonly doc: {
    readonly description: string
    /** The default as documented; also the value `.env.example` shows, unless it is `computed`. */
    readonly default: string | undefined
    /** The default depends on other settings: documented, but not written into `.env.example`. */
    readonly computed: boolean
    readonly choices: ReadonlyArray<string> | undefined
  }
}

interface Options {
  readonly doc: string
  /** The default as it would be written in the environment; it is decoded like any value. */
  readonly default?: string
  /** Documents a default that depends on other settings (the setting itself is then optional). */
  readonly defaultText?: string
}

type Value<A, O extends Options> = O extends { readonly default: string } ? A : A | undefined

const make = <A, O extends Options>(
  name: string,
  schema: Schema.ConstraintCodec<A, unknown>,
  problem: Setting<A>["problem"],
  options: O,
  extra: { readonly rule?: (value: A) => string | undefined; readonly choices?: ReadonlyArray<string> } = {}
): Setting<Value<A, O>> => {
  const fallback =
    options.default === undefined ? undefined : Schema.decodeSync(Schema.toCodecStringTree(schema))(options.default)
  return {
    _tag: "Setting",
    name,
    config: Config.schema(schema, name).pipe(Config.withDefault(fallback)) as Config.Config<Value<A, O>>,
    fallback: fallback as Value<A, O>,
    problem,
    rule: extra.rule as ((value: Value<A, O>) => string | undefined) | undefined,
    doc: {
      description: options.doc,
      default: options.default ?? options.defaultText,
      computed: options.default === undefined && options.defaultText !== undefined,
      choices: extra.choices
    }
  }
}

const expected = (what: string) => (raw: string) => `expected ${what}, got ${JSON.stringify(raw)}`

interface Range {
  readonly min: number
  readonly max: number
}

const numberSchema = (integer: boolean, { min, max }: Range) =>
  (integer ? Schema.String.check(Schema.isPattern(/^-?\d+$/)) : Schema.String).pipe(
    Schema.decodeTo(
      Schema.Finite.check(Schema.isBetween({ minimum: min, maximum: max })),
      SchemaTransformation.numberFromString
    )
  )

const numberProblem = (integer: boolean, { min, max }: Range) =>
  expected(`${integer ? "an integer" : "a number"} between ${min} and ${max}`)

export const integer = <O extends Options>(name: string, range: Range & O) =>
  make(name, numberSchema(true, range), numberProblem(true, range), range)

export const decimal = <O extends Options>(name: string, range: Range & O) =>
  make(name, numberSchema(false, range), numberProblem(false, range), range)

const unitMillis = { milliseconds: 1, seconds: 1000, minutes: 60_000 } as const

/**
 * A duration written as a number of `unit` (decimals allowed unless `integer`), read as a `Duration` whole
 * milliseconds long.
 */
export const duration =
  (unit: keyof typeof unitMillis, kind: { readonly integer: boolean } = { integer: false }) =>
  <O extends Options>(
    name: string,
    options: Range & O & { readonly rule?: (value: Duration.Duration) => string | undefined }
  ) =>
    make(
      name,
      numberSchema(kind.integer, options).pipe(
        Schema.decodeTo(
          Schema.Duration,
          SchemaTransformation.transform({
            decode: (amount: number) => Duration.millis(Math.round(amount * unitMillis[unit])),
            encode: (value) => Duration.toMillis(value) / unitMillis[unit]
          })
        )
      ),
      numberProblem(kind.integer, options),
      options,
      { rule: options.rule }
    )

const lowerCase = <L extends string>() =>
  SchemaTransformation.transform<L, string>({ decode: (text) => text.toLowerCase() as L, encode: (text) => text })

/** One of `choices`, in any case. */
export const choice = <const L extends string, O extends Options>(
  name: string,
  choices: ReadonlyArray<L>,
  options: O
) =>
  make(
    name,
    Schema.String.pipe(Schema.decodeTo(Schema.Literals(choices), lowerCase<L>())),
    expected(`one of ${choices.join(", ")}`),
    options,
    { choices }
  )

const truths = ["true", "1", "yes", "on"] as const
const falsehoods = ["false", "0", "no", "off"] as const

export const flag = <O extends Options>(name: string, options: O) =>
  make(
    name,
    Schema.String.pipe(
      Schema.decodeTo(Schema.Literals([...truths, ...falsehoods]), lowerCase()),
      Schema.decodeTo(
        Schema.Boolean,
        SchemaTransformation.transform({
          decode: (word) => (truths as ReadonlyArray<string>).includes(word),
          encode: (value) => (value ? "true" : "false")
        })
      )
    ),
    expected("true or false"),
    options
  )

export const text = <O extends Options>(name: string, options: O) =>
  make(name, Schema.String, expected("text"), options)

/** An absolute URL, without its trailing slash. */
const urlSchema = Schema.String.pipe(
  Schema.decodeTo(Schema.URL, SchemaTransformation.urlFromString),
  Schema.decodeTo(
    Schema.String,
    SchemaTransformation.transform({
      decode: (url) => url.toString().replace(/\/$/, ""),
      encode: (text) => new URL(text)
    })
  )
)

export const url = <O extends Options>(name: string, options: O) =>
  make(name, urlSchema, expected("an absolute URL"), options)

/** Strings whose values are secrets: read as `Redacted`, and never echoed in a problem. */
export const secret = (
  name: string,
  options: Options & { readonly schema?: Schema.Codec<string, string>; readonly requirement?: string }
) =>
  make(
    name,
    Schema.Redacted(options.schema ?? Schema.String),
    () => options.requirement ?? "expected a valid value",
    options
  )

export const secretUrl = (name: string, options: Options) =>
  secret(name, { ...options, schema: urlSchema, requirement: "expected an absolute URL" })

/** Any other schema, with its own way of naming a bad value. */
export const custom = <A, O extends Options>(
  name: string,
  schema: Schema.Codec<A, string>,
  problem: Setting<A>["problem"],
  options: O
) => make(name, schema, problem, options)

/**
 * `setting`, read only when `trigger` is set: unset, its value is its fallback, and a bad one is no problem (a
 * variable that belongs to another program when this one does not use it).
 */
export const onlyWith = <T, A>(trigger: Setting<T>, setting: Setting<A>): Setting<A> => ({
  ...setting,
  config: trigger.config.pipe(
    Config.orElse(() => Config.succeed(undefined)),
    Config.flatMap((value) => (value === undefined ? Config.succeed(setting.fallback) : setting.config))
  )
})

/** A tree of settings, shaped as the configuration is. */
export type Declaration = { readonly _tag: "Setting" } | { readonly [key: string]: Declaration }

export type Values<D> = D extends Setting<infer A> ? A : { readonly [K in keyof D]: Values<D[K]> }

const isSetting = (node: Declaration): node is Setting<unknown> => node._tag === "Setting"

/** Every setting of a declaration, in the order declared. */
export const settingsOf = (node: Declaration): ReadonlyArray<Setting<unknown>> =>
  isSetting(node) ? [node] : Object.values(node).flatMap(settingsOf)

const readSetting = <A>(setting: Setting<A>, provider: ConfigProvider.ConfigProvider, problems: Array<string>) =>
  setting.config.parse(provider).pipe(
    Effect.map((value) => {
      const broken = setting.rule?.(value)
      if (broken !== undefined) problems.push(`${setting.name}: ${broken}`)
      return value
    }),
    Effect.catch(() =>
      provider.load([setting.name]).pipe(
        Effect.orElseSucceed(() => undefined),
        Effect.map((node) => {
          problems.push(`${setting.name}: ${setting.problem(node?.value ?? "")}`)
          return setting.fallback
        })
      )
    )
  )

const readNode = (
  node: Declaration,
  provider: ConfigProvider.ConfigProvider,
  problems: Array<string>
): Effect.Effect<unknown> =>
  isSetting(node)
    ? readSetting(node, provider, problems)
    : Effect.map(
        Effect.forEach(Object.entries(node), ([key, child]) =>
          Effect.map(readNode(child, provider, problems), (value) => [key, value] as const)
        ),
        Object.fromEntries
      )

/**
 * Reads every setting of `declaration` from `provider`. An invalid value adds its problem, in the order
 * declared, and its fallback stands in for it.
 */
export const read = <D extends Declaration>(
  declaration: D,
  provider: ConfigProvider.ConfigProvider
): Effect.Effect<{ readonly values: Values<D>; readonly problems: ReadonlyArray<string> }> => {
  const problems: Array<string> = []
  return Effect.map(readNode(declaration, blankAsUnset(provider), problems), (values) => ({
    values: values as Values<D>,
    problems
  }))
}

const trim = (value: string | undefined) => {
  const trimmed = value?.trim()
  return trimmed === "" ? undefined : trimmed
}

/** Values are trimmed, and blank ones count as unset, as `.env` files and shells often leave them. */
const blankAsUnset = (provider: ConfigProvider.ConfigProvider): ConfigProvider.ConfigProvider =>
  ConfigProvider.make((path) =>
    Effect.map(provider.load(path), (node) => {
      if (node === undefined) return undefined
      const value = trim(node.value)
      switch (node._tag) {
        case "Value":
          return value === undefined ? undefined : ConfigProvider.makeValue(value)
        case "Record":
          return ConfigProvider.makeRecord(node.keys, value)
        case "Array":
          return ConfigProvider.makeArray(node.length, value)
      }
    })
  )
