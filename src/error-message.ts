/*
 * One home for turning an error and its chain of causes into one line a person can read: an
 * SqlError's or a platform error's own message is generic ("Failed to execute statement"), the
 * words that say what went wrong are in its cause, or its cause's cause.
 */

const oneLine = (text: string): string => text.replace(/\s*\n\s*/g, " ").trim()

const ownMessage = (error: unknown): string | undefined =>
  typeof error === "object" && error !== null && "message" in error && typeof error.message === "string" && error.message !== ""
    ? error.message
    : undefined

const causeOf = (error: unknown): unknown => (typeof error === "object" && error !== null && "cause" in error ? error.cause : undefined)

/** The most specific message in a chain of causes (at most 8 deep), on one line. */
export const innermostMessage = (error: unknown): string => {
  let message = String(error)
  let current: unknown = error
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth++) {
    message = ownMessage(current) ?? message
    current = causeOf(current)
  }
  return oneLine(message)
}

/** `outer: innermost` when the chain says more than the error itself, else the error's message. */
export const messageWithCause = (error: unknown, fallback = "failed"): string => {
  const outer = ownMessage(error)
  const inner = causeOf(error) === undefined ? undefined : innermostMessage(causeOf(error))
  if (outer === undefined) return inner ?? fallback
  return inner === undefined || inner === outer || outer.includes(inner) ? oneLine(outer) : `${oneLine(outer)}: ${inner}`
}
