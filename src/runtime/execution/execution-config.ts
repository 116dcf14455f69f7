import { Config, ConfigError, Duration, Either, Option } from "effect"
import { resolve } from "node:path"
import { DatabaseConfig } from "../../db/config.ts"

/*
 * How this instance executes runs (docs/design/runtime.md §7.1), from `CCAT_` variables. The location's own
 * declaration (backend options, container runtime, base_dir) applies where these are unset.
 */
export interface ExecutionConfig {
  /**
   * `CCAT_BACKEND` (or `ccat serve --backend`): run every location served on this backend instead
   * of the one its definition declares (a laptop, the demo); `null`: as declared.
   */
  readonly backend: "local" | "slurm" | null
  /** `CCAT_LOCATION`: the processing location this instance serves; all when unset. */
  readonly location: string | null
  /** `CCAT_BASE_DIR`: where run folders go; else the location's base_dir; else <CCAT_DATA_DIR>/runs. */
  readonly baseDir: string | null
  readonly defaultBaseDir: string
  /** `CCAT_SOFTWARE_PATH`: folders searched first for programs run without a container. */
  readonly softwarePath: ReadonlyArray<string>
  /** `CCAT_CONTAINER`: `auto` (the location's runtime, if installed) or `none`. */
  readonly container: "auto" | "none"
  /** `CCAT_SUBMIT_INTERVAL`, `CCAT_COLLECT_INTERVAL`: the loops' periods. */
  readonly submitInterval: Duration.Duration
  readonly collectInterval: Duration.Duration
  /** `CCAT_LOST_GRACE`: how long the backend may not know a job before its run is LOST. */
  readonly lostGrace: Duration.Duration
  /** `CCAT_RETRY_BACKOFF`: the wait before the first retry; doubles with each attempt. */
  readonly retryBackoff: Duration.Duration
  /** `CCAT_MAX_PARALLEL`: local backend slots; else the location's max_parallel; else 2. */
  readonly maxParallel: number | null
  /** `CCAT_SUBMIT_BATCH`: runs staged per submit cycle. */
  readonly submitBatch: number
  /** `CCAT_PURGE_INTERVAL`: how often disk use is checked against each location's purge_above. */
  readonly purgeInterval: Duration.Duration
}

/**
 * A duration in a `CCAT_` variable: `500ms`, `2s`, `1m`, `1h`, `1d`, a bare number of seconds,
 * or Effect's spelling (`2 seconds`).
 */
export const durationConfig = (name: string, fallback: Duration.Duration): Config.Config<Duration.Duration> =>
  Config.string(name).pipe(
    Config.mapOrFail((text) => {
      const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/.exec(text)
      if (m !== null) {
        const n = Number(m[1])
        const unit = m[2] ?? "s"
        const millis = n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit as "ms"]
        return Either.right(Duration.millis(millis))
      }
      const decoded = Duration.decodeUnknown(text)
      return Option.isSome(decoded)
        ? Either.right(decoded.value)
        : Either.left(ConfigError.InvalidData([], `expected a duration such as 500ms, 30s, 5m, 1h or 1d, got ${JSON.stringify(text)}`))
    }),
    Config.withDefault(fallback)
  )

const optionalString = (name: string) =>
  Config.option(Config.string(name)).pipe(Config.map((o) => Option.getOrNull(Option.filter(o, (s) => s.trim() !== ""))))

export const ExecutionConfig: Config.Config<ExecutionConfig> = Config.all({
  backend: Config.literal("local", "slurm")("CCAT_BACKEND").pipe(Config.option, Config.map(Option.getOrNull)),
  location: optionalString("CCAT_LOCATION"),
  baseDir: optionalString("CCAT_BASE_DIR").pipe(Config.map((d) => (d === null ? null : resolve(d)))),
  defaultBaseDir: DatabaseConfig.pipe(Config.map((c) => resolve(c.dataDir, "runs"))),
  softwarePath: optionalString("CCAT_SOFTWARE_PATH").pipe(
    Config.map((p) =>
      (p ?? resolve("pipelines", "software", "bin"))
        .split(":")
        .filter((x) => x !== "")
        .map((x) => resolve(x))
    )
  ),
  container: Config.literal("auto", "none")("CCAT_CONTAINER").pipe(Config.withDefault("auto" as const)),
  submitInterval: durationConfig("CCAT_SUBMIT_INTERVAL", Duration.seconds(2)),
  collectInterval: durationConfig("CCAT_COLLECT_INTERVAL", Duration.seconds(3)),
  lostGrace: durationConfig("CCAT_LOST_GRACE", Duration.minutes(10)),
  retryBackoff: durationConfig("CCAT_RETRY_BACKOFF", Duration.seconds(30)),
  maxParallel: Config.option(Config.integer("CCAT_MAX_PARALLEL")).pipe(Config.map(Option.getOrNull)),
  submitBatch: Config.integer("CCAT_SUBMIT_BATCH").pipe(Config.withDefault(16)),
  purgeInterval: durationConfig("CCAT_PURGE_INTERVAL", Duration.minutes(5))
})
