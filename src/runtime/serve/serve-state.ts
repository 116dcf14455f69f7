import { Context, Effect, Layer, Ref } from "effect"

/*
 * What `ccat serve` knows about itself, for /healthz and /metrics: per loop, its cycles,
 * failures, restarts and the duration of the last cycle, and for how many cycles in a row every
 * item it handled failed; the gap per step from the last trigger pass of each location served.
 */

/** A loop whose every item failed for this many cycles in a row makes /healthz say degraded. */
export const failingCyclesForDegraded = 3

export interface LoopState {
  readonly cycles: number
  readonly failures: number
  readonly lastSuccessAt: number | null
  readonly lastDurationMs: number | null
  readonly lastError: string | null
  /** Cycles in a row in which every item (run submitted, job collected) failed; 0 after one that did not. */
  readonly allFailedStreak: number
}

export interface ServeSnapshot {
  readonly startedAt: number
  readonly loops: Readonly<Record<string, LoopState>>
  /** Runs the last pass would create per `pipeline.step` (created or held by nothing but the backend). */
  readonly gap: Readonly<Record<string, number>>
}

export class ServeState extends Context.Tag("ccat/ServeState")<
  ServeState,
  {
    readonly cycleDone: (loop: string, durationMs: number) => Effect.Effect<void>
    readonly cycleFailed: (loop: string, error: string) => Effect.Effect<void>
    /** The gap found by the trigger of one set of loops (`label`: its location, or null when there is one). */
    readonly setGap: (gap: Readonly<Record<string, number>>, label?: string | null) => Effect.Effect<void>
    /** After a cycle that handled items: whether all of them failed. */
    readonly itemsOutcome: (loop: string, allFailed: boolean) => Effect.Effect<void>
    readonly snapshot: Effect.Effect<ServeSnapshot>
  }
>() {}

const emptyLoop: LoopState = { cycles: 0, failures: 0, lastSuccessAt: null, lastDurationMs: null, lastError: null, allFailedStreak: 0 }

export const ServeStateLive: Layer.Layer<ServeState> = Layer.effect(
  ServeState,
  Effect.gen(function* () {
    const state = yield* Ref.make<ServeSnapshot>({ startedAt: Date.now(), loops: {}, gap: {} })
    const gaps = yield* Ref.make(new Map<string | null, Readonly<Record<string, number>>>())
    const updateLoop = (loop: string, f: (s: LoopState) => LoopState) =>
      Ref.update(state, (s) => ({ ...s, loops: { ...s.loops, [loop]: f(s.loops[loop] ?? emptyLoop) } }))
    return {
      cycleDone: (loop, durationMs) =>
        updateLoop(loop, (s) => ({ ...s, cycles: s.cycles + 1, lastSuccessAt: Date.now(), lastDurationMs: durationMs, lastError: null })),
      cycleFailed: (loop, error) => updateLoop(loop, (s) => ({ ...s, failures: s.failures + 1, lastError: error })),
      setGap: (gap, label = null) =>
        Effect.gen(function* () {
          const all = yield* Ref.updateAndGet(gaps, (m) => new Map(m).set(label, gap))
          yield* Ref.update(state, (s) => ({ ...s, gap: Object.assign({}, ...all.values()) as Record<string, number> }))
        }),
      itemsOutcome: (loop, allFailed) => updateLoop(loop, (s) => ({ ...s, allFailedStreak: allFailed ? s.allFailedStreak + 1 : 0 })),
      snapshot: Ref.get(state)
    }
  })
)
