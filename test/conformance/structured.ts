/**
 * The structured-output case every provider's conformance test shares: a nested zod schema as
 * clients write it for `client.chat.completions.parse()` (a sub-object used twice, which the
 * SDK's JSON schema turns into a `$ref` to `definitions`; a nullable field; an enum; an array of
 * objects), the object a model answers, and that answer as the JSON text a fake replies with.
 */
import { zodResponseFormat } from "openai/helpers/zod"
import { z } from "zod"

const Address = z.object({ city: z.string(), postcode: z.string().nullable() })

export const Person = z.object({
  name: z.string(),
  age: z.number().int(),
  role: z.enum(["engineer", "manager"]),
  home: Address,
  work: Address,
  skills: z.array(z.object({ label: z.string(), years: z.number() }))
})
export type Person = z.infer<typeof Person>

/** The `response_format` the SDK sends for `Person` (strict json_schema). */
export const personFormat = zodResponseFormat(Person, "person")

export const person: Person = {
  name: "Ada",
  age: 36,
  role: "engineer",
  home: { city: "London", postcode: null },
  work: { city: "Cambridge", postcode: "CB2 1TN" },
  skills: [
    { label: "analysis", years: 12 },
    { label: "engines", years: 7 }
  ]
}

/** What a model constrained to the schema answers. */
export const personJson = JSON.stringify(person)

export const personPrompt = "Extract the person from: Ada, 36, an engineer living in London and working in Cambridge."
