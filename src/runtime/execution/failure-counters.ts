import { Context, Effect, Ref } from "effect"

/*
 * Failures, counted as they happen, for `/metrics` (issue 19: failures are seen): runs that
 * failed an attempt, by pipeline, step and reason (the reason's code: `EXIT_CODE`, `TIMEOUT`,
 * `SUBMIT_REJECTED`, …), and submissions the backend refused, by location and kind (`permanent`:
 * the run failed at once; `transient`: it waits and tries again). Prometheus counters of this
 * process since it started; a Context.Reference, so every loop shares one without wiring.
 */

export interface FailureCounts {
  /** `pipeline\u0000step\u0000reason` → count. */
  readonly runFailures: ReadonlyMap<string, number>
  /** `location\u0000kind` → count. */
  readonly submissionRejections: ReadonlyMap<string, number>
}

export interface FailureCountersService {
  readonly runFailed: (pipeline: string, step: string, reason: string) => Effect.Effect<void>
  readonly submissionRejected: (location: string, kind: "permanent" | "transient") => Effect.Effect<void>
  readonly snapshot: Effect.Effect<FailureCounts>
}

/** The code of a failure reason: `EXIT_CODE 3` → `EXIT_CODE`, `STAGING_FAILED: …` → `STAGING_FAILED`. */
export const reasonCode = (reason: string): string => /^[A-Z_]+/.exec(reason)?.[0] ?? "FAILED"

const bump = (m: ReadonlyMap<string, number>, key: string): ReadonlyMap<string, number> => new Map(m).set(key, (m.get(key) ?? 0) + 1)

export const makeFailureCounters = Effect.gen(function* () {
  const state = yield* Ref.make<FailureCounts>({ runFailures: new Map(), submissionRejections: new Map() })
  return {
    runFailed: (pipeline, step, reason) =>
      Ref.update(state, (s) => ({ ...s, runFailures: bump(s.runFailures, `${pipeline}\u0000${step}\u0000${reasonCode(reason)}`) })),
    submissionRejected: (location, kind) =>
      Ref.update(state, (s) => ({ ...s, submissionRejections: bump(s.submissionRejections, `${location}\u0000${kind}`) })),
    snapshot: Ref.get(state)
  } satisfies FailureCountersService
})

export class FailureCounters extends Context.Reference<FailureCounters>()("ccat/FailureCounters", {
  defaultValue: () => Effect.runSync(makeFailureCounters)
}) {}
