/**
 * Test assertions navigate response bodies freely; the assertions themselves check the
 * shapes, so the bodies are typed loosely here on purpose.
 */
// biome-ignore lint: deliberate loose type for assertions
export type Json = any

export const json = (response: Response): Promise<Json> => response.json() as Promise<Json>
