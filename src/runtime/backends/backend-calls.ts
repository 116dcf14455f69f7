import { Effect, HashMap, Layer, Option, Ref } from "effect"
import { BackendCalls } from "./execution-backend.ts"

/** Counts backend calls in memory, for `/metrics` and for tests that count `squeue` calls. */
export const BackendCallsLive: Layer.Layer<BackendCalls> = Layer.effect(
  BackendCalls,
  Effect.gen(function* () {
    const counts = yield* Ref.make(HashMap.empty<string, number>())
    return {
      count: (kind: string) => Ref.update(counts, (m) => HashMap.set(m, kind, Option.getOrElse(HashMap.get(m, kind), () => 0) + 1)),
      snapshot: Effect.map(Ref.get(counts), (m) => new Map(HashMap.toEntries(m)))
    }
  })
)
