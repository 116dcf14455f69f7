import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { execFileSync } from "node:child_process"
import { BackendUnavailable } from "../src/runtime/backends/execution-backend.ts"
import { parseSinfoPartitions, parseSlurmDuration, sinfoArguments, slurmPartitions } from "../src/runtime/backends/slurm-partitions.ts"

/*
 * What the cluster's partitions offer, from one sinfo call: the parser on the output of this
 * repository's one-node cluster (scripts/slurm-up.sh) and on the other forms sinfo prints, the
 * call against the real cluster, and a sinfo that is missing or fails.
 */

/** `sinfo -h -a -e -o '%P|%l|%c|%m'` on the one-node cluster, as captured here. */
const capturedHere = "debug*|infinite|2|22057\nbatch|infinite|2|22057\n"

describe("parseSinfoPartitions", () => {
  it("reads the one-node cluster: two partitions, debug the default, no time limit", () => {
    expect(Either.getOrThrow(parseSinfoPartitions(capturedHere))).toEqual([
      { name: "debug", isDefault: true, maxTimeSeconds: null, maxCpusPerNode: 2, maxMemoryMiBPerNode: 22057 },
      { name: "batch", isDefault: false, maxTimeSeconds: null, maxCpusPerNode: 2, maxMemoryMiBPerNode: 22057 }
    ])
  })

  it("takes the largest node of a partition listed on several lines, and no bound from a lower one", () => {
    const output = [
      "gpu|1-00:00:00|32|192000",
      "gpu|1-00:00:00|64|512000",
      "short*|30:00|8|16000",
      "mixed|2:00:00|48+|128000+",
      "mixed|2:00:00|16|64000",
      ""
    ].join("\n")
    expect(Either.getOrThrow(parseSinfoPartitions(output))).toEqual([
      { name: "gpu", isDefault: false, maxTimeSeconds: 86_400, maxCpusPerNode: 64, maxMemoryMiBPerNode: 512_000 },
      { name: "short", isDefault: true, maxTimeSeconds: 1800, maxCpusPerNode: 8, maxMemoryMiBPerNode: 16_000 },
      // `48+` is "48 or more": its largest node is not known, so nothing is compared with it.
      { name: "mixed", isDefault: false, maxTimeSeconds: 7200, maxCpusPerNode: null, maxMemoryMiBPerNode: null }
    ])
  })

  it("reads every form of a Slurm time limit", () => {
    const seconds = (text: string) => Either.getOrThrow(parseSlurmDuration(text))
    expect(seconds("infinite")).toBeNull()
    expect(seconds("UNLIMITED")).toBeNull()
    expect(seconds("n/a")).toBeNull()
    expect(seconds("1-00:00:00")).toBe(86_400)
    expect(seconds("7-12:30:15")).toBe(7 * 86_400 + 12 * 3600 + 30 * 60 + 15)
    expect(seconds("2:00:00")).toBe(7200)
    expect(seconds("30:00")).toBe(1800)
    expect(seconds("45")).toBe(2700)
    expect(seconds("1-12")).toBe(86_400 + 12 * 3600)
    expect(seconds("1-12:30")).toBe(86_400 + 12 * 3600 + 30 * 60)
    expect(parseSlurmDuration("soon")).toEqual(Either.left('not a time limit: "soon"'))
  })

  it("refuses output it cannot read rather than report every partition missing", () => {
    expect(parseSinfoPartitions("PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST\ndebug* up infinite 1 idle localhost\n")).toEqual(
      Either.left('unexpected sinfo line: "PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST"')
    )
    expect(parseSinfoPartitions("debug*|infinite|two|22057\n")).toEqual(Either.left('not a number of CPUs: "two"'))
  })
})

describe("slurmPartitions", () => {
  it.effect("asks the real cluster with one sinfo call and reads what sinfo itself prints", () =>
    Effect.gen(function* () {
      const partitions = yield* slurmPartitions()
      const direct = execFileSync("sinfo", [...sinfoArguments], { encoding: "utf8", timeout: 20_000 })
      expect(partitions).toEqual(Either.getOrThrow(parseSinfoPartitions(direct)))
      expect(partitions.map((p) => p.name)).toEqual(expect.arrayContaining(["debug", "batch"]))
      expect(partitions.filter((p) => p.isDefault).map((p) => p.name)).toEqual(["debug"])
      for (const p of partitions) expect(p.maxCpusPerNode).toBeGreaterThanOrEqual(1)
    })
  )

  it.effect("a missing sinfo is BackendUnavailable, saying so", () =>
    Effect.gen(function* () {
      const error = yield* slurmPartitions({ command: "/nonexistent/bin/sinfo" }).pipe(Effect.flip)
      expect(error).toBeInstanceOf(BackendUnavailable)
      expect(error.reason).toBe("/nonexistent/bin/sinfo not found (is Slurm installed here?)")
    })
  )

  it.effect("a sinfo that fails (a controller that is down) is BackendUnavailable with its exit code", () =>
    Effect.gen(function* () {
      const error = yield* slurmPartitions({ command: "false" }).pipe(Effect.flip)
      expect(error.reason).toBe("false exited 1: no message")
    })
  )

  it.effect("a sinfo that prints something else is BackendUnavailable, not an empty cluster", () =>
    Effect.gen(function* () {
      // `echo` prints its arguments: the format string, whose `%l` is no time limit.
      const error = yield* slurmPartitions({ command: "echo" }).pipe(Effect.flip)
      expect(error.reason).toBe('could not read what echo printed: not a time limit: "%l"')
    })
  )
})
