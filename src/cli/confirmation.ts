import { Context, Effect } from "effect"
import { createInterface } from "node:readline/promises"

/*
 * Asking a person yes or no before a command changes things (`ccat apply`, the bulk forms of
 * `ccat cancel` and `ccat retry`): one question, one rule for what counts as yes.
 */

/** Asks a yes/no question on the terminal; anything but `y` or `yes` is no. */
export const askOnTerminal = (question: string): Effect.Effect<boolean> =>
  Effect.acquireUseRelease(
    Effect.sync(() => createInterface({ input: process.stdin, output: process.stdout })),
    (rl) => Effect.promise(() => rl.question(question)).pipe(Effect.map((answer) => /^(y|yes)$/i.test(answer.trim()))),
    (rl) => Effect.sync(() => rl.close())
  )

/**
 * How a bulk command gets a person's yes: on a terminal it asks; anywhere else there is no one
 * to ask, and it needs --yes. A Reference so tests can be a terminal (or not) whatever runs them.
 */
export class Confirmation extends Context.Reference<Confirmation>()("ccat/Confirmation", {
  defaultValue: (): { readonly interactive: () => boolean; readonly ask: (question: string) => Effect.Effect<boolean> } => ({
    interactive: () => process.stdin.isTTY === true,
    ask: askOnTerminal
  })
}) {}
