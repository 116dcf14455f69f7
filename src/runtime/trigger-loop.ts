import type { SqlClient } from "@effect/sql"
import type { PgClient } from "@effect/sql-pg"
import { Config, Duration, Effect, Option, Queue, Schedule } from "effect"
import { durationConfig } from "./execution/execution-config.ts"
import { evaluatePass, passSummaryLine, type PassSummary } from "./gaps/evaluate-pass.ts"
import { defaultFullEvery } from "./gaps/step-memo.ts"
import { triggerChannels, wakeOnNotify } from "./notifications.ts"
import { defaultTriggerIntervalSeconds } from "../compiler/trigger-interval.ts"

/*
 * The trigger loop (docs/design/runtime.md §2.10, §2.8): a pass every interval, and earlier when the database
 * says something changed (new or updated raw packages, a trigger request, a run that ended).
 * Level-triggered: a pass decides from the database alone (only what changed since the last one,
 * and each step in full every CCAT_FULL_PASS_INTERVAL, one step per pass), so a lost notification only delays work until
 * the next interval, and a failing LISTEN connection is retried quietly.
 */

export interface TriggerLoopConfig {
  /** `CCAT_TRIGGER_INTERVAL`: the longest time between two passes. */
  readonly interval: Duration.Duration
  /** `CCAT_LOCATION`: evaluate only pipelines at this processing location; all when unset. */
  readonly location: string | null
  /** `CCAT_FULL_PASS_INTERVAL`: how often each step is still evaluated in full, one step per pass (between, only what changed). */
  readonly fullPassEvery?: Duration.Duration | undefined
}

export const TriggerLoopConfig: Config.Config<TriggerLoopConfig> = Config.all({
  interval: durationConfig("CCAT_TRIGGER_INTERVAL", Duration.seconds(defaultTriggerIntervalSeconds)),
  location: Config.option(Config.string("CCAT_LOCATION")).pipe(Config.map(Option.getOrNull)),
  fullPassEvery: durationConfig("CCAT_FULL_PASS_INTERVAL", defaultFullEvery)
})

/** One pass, logged as one line; a failure is logged and does not end the loop. */
export const loggedPass = (
  location: string | null,
  fullEvery?: Duration.Duration
): Effect.Effect<PassSummary | null, never, SqlClient.SqlClient> =>
  evaluatePass({ location, remember: true, fullEvery }).pipe(
    Effect.tap((summary) => Effect.logInfo(passSummaryLine(summary))),
    Effect.catchTags({
      NothingApplied: (e) => Effect.logInfo(`trigger: ${e.message}`).pipe(Effect.as(null))
    }),
    Effect.catchAll((error) => Effect.logError(`trigger pass failed: ${error.message}`).pipe(Effect.as(null)))
  )

/**
 * Run passes forever: one at once, then one after each interval or notification, whichever
 * comes first. Notifications that arrive during a pass collapse into one early pass.
 */
export const runTriggerLoop = (config: TriggerLoopConfig): Effect.Effect<never, never, SqlClient.SqlClient | PgClient.PgClient> =>
  Effect.scoped(
    Effect.gen(function* () {
      const wake = yield* Queue.sliding<void>(1)
      yield* Effect.forkScoped(wakeOnNotify(triggerChannels, wake, config.interval))
      const waitForWork = Effect.raceFirst(Effect.sleep(config.interval), Queue.take(wake))
      return yield* loggedPass(config.location, config.fullPassEvery).pipe(
        Effect.zipRight(waitForWork),
        Effect.repeat(Schedule.forever),
        Effect.zipRight(Effect.never)
      )
    })
  )
