/**
 * The authenticated caller: what Auth makes of a verified token, what the HTTP layer provides to
 * handlers (`CurrentUser`) and what the chat pipeline bills.
 */
export interface User {
  readonly id: string
  readonly role: "user" | "admin"
  /** When the token that authenticated the request expires, in epoch seconds. */
  readonly tokenExpiresAt: number
}
