import { describe, expect, it as plainIt, layer } from "@effect/vitest"
import { Effect } from "effect"
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { compileSources } from "../src/compiler/compile.ts"
import type { IrWorkspace } from "../src/compiler/ir.ts"
import { partitionsNotChecked, partitionWarnings, renderWarnings } from "../src/definitions/partition-warnings.ts"
import { slurmPartitions, type SlurmPartition } from "../src/runtime/backends/slurm-partitions.ts"
import { testBackends, testDatabase } from "./support/databases.ts"
import { runCli } from "./support/plan-cli.ts"

/*
 * `ccat plan` warns about a step on a Slurm location whose jobs could never start: more CPUs or
 * memory than any node of its partition has, more time than the partition allows, a partition
 * the cluster does not have. Against the real one-node cluster (partitions debug, the default,
 * and batch; 2 CPUs per node), and without sinfo, where the plan goes on and says so.
 * The compiler caps a step at 1024 CPUs and 64TiB: those stand for "far more than any node".
 */

const workspace = (steps: string, backend = `backend slurm { partition "debug" }`) => `
location hpc { ${backend} }
location laptop { backend local { max_parallel 2 } }
software tool {
  image "docker://example/tool:{version}"
  versions "1.0.0"
  command "tool"
}
grouping archived { where RawDataPackage.state == "ARCHIVED" }
pipeline p {
  data archived
  location hpc
  trigger manual
${steps}
}
pipeline elsewhere {
  data archived
  location laptop
  trigger manual
  step huge { run tool ^1.0  group_by executed_obs_unit  resources { cpus 1024  memory 64TiB  partition "nosuch" } }
}
`

const step = (name: string, resources: string, extra = "") =>
  `  step ${name} { run tool ^1.0  group_by executed_obs_unit  resources { ${resources} }  ${extra} }`

const modest = step("modest", "cpus 1  memory 1GiB  time 10m")
const oversized = [step("wide", "cpus 1024"), step("big", "memory 64TiB"), step("lost", `partition "nosuch"`)].join("\n")

const compile = (text: string): IrWorkspace => {
  const result = compileSources([{ path: "w.ccat", text }])
  expect(result.diagnostics.filter((d) => d.severity === "error").map((d) => d.message)).toEqual([])
  return result.ir!
}

const folderWith = (text: string): string => {
  const dir = mkdtempSync(join(tmpdir(), "ccat-partitions-"))
  writeFileSync(join(dir, "w.ccat"), text)
  return dir
}

describe("partitionWarnings", () => {
  const cluster: ReadonlyArray<SlurmPartition> = [
    { name: "short", isDefault: true, maxTimeSeconds: 2 * 86_400, maxCpusPerNode: 64, maxMemoryMiBPerNode: 256 * 1024 },
    { name: "long", isDefault: false, maxTimeSeconds: null, maxCpusPerNode: 16, maxMemoryMiBPerNode: null }
  ]

  plainIt("warns about time beyond the partition's limit, as the job asks for it", () => {
    const ir = compile(
      workspace(
        [
          step("slow", "time 3d"),
          step("capped", "time 3d", "timeout 1d"),
          step("patient", "time 1h", "timeout 30d"),
          step("ok", "time 2d")
        ].join("\n"),
        "backend slurm { }"
      )
    )
    expect(renderWarnings(partitionWarnings(ir, cluster))).toBe(
      [
        `Warning: step p.patient asks for more time than partition "short" (the cluster's default) offers`,
        ``,
        `  timeout: asks for 30d; partition "short" (the cluster's default) allows at most 2d. Its jobs could never start.`,
        ``,
        `Warning: step p.slow asks for more time than partition "short" (the cluster's default) offers`,
        ``,
        `  resources.time: asks for 3d; partition "short" (the cluster's default) allows at most 2d. Its jobs could never start.`
      ].join("\n")
    )
  })

  plainIt("compares memory as the job asks for it, in MiB rounded up, and skips what sinfo does not state", () => {
    const ir = compile(
      workspace(
        [step("edge", "memory 256GiB"), step("over", "memory 257GiB"), step("unknown", `memory 64TiB  partition "long"  time 30d`)].join(
          "\n"
        ),
        "backend slurm { }"
      )
    )
    expect(partitionWarnings(ir, cluster)).toEqual([
      {
        code: "partition-limit",
        pipeline: "p",
        step: "over",
        location: "hpc",
        partition: "short",
        resource: "memory",
        asks: 257 * 1024 ** 3,
        offers: 256 * 1024 ** 3,
        summary: `step p.over asks for more memory than partition "short" (the cluster's default) offers`,
        detail: `resources.memory: asks for 257GiB; the largest node of partition "short" (the cluster's default) has 256GiB. Its jobs could never start.`
      }
    ])
  })

  plainIt("names a missing partition set on the location as the location's", () => {
    const ir = compile(workspace(modest, `backend slurm { partition "gpu" }`))
    expect(partitionWarnings(ir, cluster).map((w) => w.detail)).toEqual([
      `backend.partition of location hpc: asks for "gpu"; the cluster's partitions are short (default), long. Slurm would refuse its jobs.`
    ])
  })
})

for (const backend of testBackends) {
  describe(`ccat plan and partition limits, on ${backend}`, () => {
    layer(testDatabase(backend), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect(
        "on the real cluster, steps asking for too many CPUs, too much memory or a missing partition get a warning with the plan",
        () =>
          Effect.gen(function* () {
            const debug = (yield* slurmPartitions()).find((p) => p.name === "debug")!
            const dir = folderWith(workspace([modest, oversized].join("\n")))
            const r = yield* runCli(["plan", dir])
            expect(r.stderr).toBe("")
            expect(r.code).toBe(0)
            const warnings = [
              `Warning: step p.big asks for more memory than partition "debug" offers`,
              ``,
              `  resources.memory: asks for 64TiB; the largest node of partition "debug" has ${debug.maxMemoryMiBPerNode}MiB. Its jobs could never start.`,
              ``,
              `Warning: step p.lost asks for partition "nosuch", which the cluster does not have`,
              ``,
              `  resources.partition: asks for "nosuch"; the cluster's partitions are debug (default), batch. Slurm would refuse its jobs.`,
              ``,
              `Warning: step p.wide asks for more CPUs than partition "debug" offers`,
              ``,
              `  resources.cpus: asks for 1024; the largest node of partition "debug" has ${debug.maxCpusPerNode}. Its jobs could never start.`
            ].join("\n")
            // After the changes, before the runs the trigger would create.
            expect(r.stdout).toContain(`Plan: 11 to create, 0 to change, 0 to retire.\n\n${warnings}\n\nRuns the trigger would create now`)
            // Neither the modest step nor the step on the local backend is named.
            expect(r.stdout).not.toContain("p.modest")
            expect(r.stdout).not.toContain("elsewhere.huge")

            const json = yield* runCli(["plan", dir, "--json"])
            const document = JSON.parse(json.stdout) as { warnings: Array<Record<string, unknown>> }
            expect(document.warnings.map((w) => [w["code"], w["step"], w["resource"], w["asks"], w["offers"]])).toEqual([
              ["partition-limit", "big", "memory", 64 * 1024 ** 4, debug.maxMemoryMiBPerNode! * 1024 ** 2],
              ["unknown-partition", "lost", "partition", "nosuch", ["debug", "batch"]],
              ["partition-limit", "wide", "cpus", 1024, debug.maxCpusPerNode]
            ])
            expect(renderWarnings(document.warnings as never)).toBe(warnings)
          })
      )

      it.effect("a modest step gets no warning", () =>
        Effect.gen(function* () {
          const dir = folderWith(workspace(modest))
          const r = yield* runCli(["plan", dir])
          expect(r.code).toBe(0)
          expect(r.stdout).not.toContain("Warning:")
          expect(r.stdout).not.toContain("partition limits")
          const json = yield* runCli(["plan", dir, "--json"])
          expect((JSON.parse(json.stdout) as { warnings: unknown }).warnings).toEqual([])
        })
      )

      it.effect("without sinfo on the PATH the plan still succeeds and says once that partition limits were not checked", () =>
        Effect.gen(function* () {
          const dir = folderWith(workspace([modest, oversized].join("\n")))
          const emptyBin = mkdtempSync(join(tmpdir(), "ccat-no-slurm-"))
          const withoutSlurm = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
            Effect.acquireUseRelease(
              Effect.sync(() => {
                const path = process.env["PATH"]
                process.env["PATH"] = emptyBin
                return path
              }),
              () => effect,
              (path) => Effect.sync(() => void (process.env["PATH"] = path))
            )
          const r = yield* withoutSlurm(runCli(["plan", dir, "--detailed-exitcode"]))
          expect(r.stderr).toBe("")
          expect(r.code).toBe(2)
          expect(r.stdout).toContain(
            "Plan: 11 to create, 0 to change, 0 to retire.\n\nWarning: partition limits not checked: sinfo not found (is Slurm installed here?)\n\nRuns the trigger would create now"
          )
          expect(r.stdout.match(/partition limits not checked/g)).toHaveLength(1)

          const json = yield* withoutSlurm(runCli(["plan", dir, "--json"]))
          expect(json.code).toBe(0)
          // The note plan prints where sinfo cannot be asked, with the reason it gave.
          expect((JSON.parse(json.stdout) as { warnings: unknown }).warnings).toEqual([
            partitionsNotChecked("sinfo not found (is Slurm installed here?)")
          ])
        })
      )
    })
  })
}
