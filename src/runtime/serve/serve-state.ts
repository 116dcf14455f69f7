import { Context, Effect, Layer, Ref } from "effect"

/*
 * What `ccat serve` knows about itself, for /healthz and /metrics: per loop, its cycles,
 * failures, restarts and the duration of the last cycle; the gap per step from the last trigger
 * pass.
 */

export interface LoopState {
  readonly cycles: number
  readonly failures: number
  readonly lastSuccessAt: number | null
  readonly lastDurationMs: number | null
  readonly lastError: string | null
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
    readonly setGap: (gap: Readonly<Record<string, number>>) => Effect.Effect<void>
    readonly snapshot: Effect.Effect<ServeSnapshot>
  }
>() {}

const emptyLoop: LoopState = { cycles: 0, failures: 0, lastSuccessAt: null, lastDurationMs: null, lastError: null }

export const ServeStateLive: Layer.Layer<ServeState> = Layer.effect(
  ServeState,
  Effect.gen(function* () {
    const state = yield* Ref.make<ServeSnapshot>({ startedAt: Date.now(), loops: {}, gap: {} })
    const updateLoop = (loop: string, f: (s: LoopState) => LoopState) =>
      Ref.update(state, (s) => ({ ...s, loops: { ...s.loops, [loop]: f(s.loops[loop] ?? emptyLoop) } }))
    return {
      cycleDone: (loop, durationMs) =>
        updateLoop(loop, (s) => ({ ...s, cycles: s.cycles + 1, lastSuccessAt: Date.now(), lastDurationMs: durationMs, lastError: null })),
      cycleFailed: (loop, error) => updateLoop(loop, (s) => ({ ...s, failures: s.failures + 1, lastError: error })),
      setGap: (gap) => Ref.update(state, (s) => ({ ...s, gap })),
      snapshot: Ref.get(state)
    }
  })
)
