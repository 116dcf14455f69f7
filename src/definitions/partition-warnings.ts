import type { IrLocation, IrStep, IrWorkspace } from "../compiler/ir.ts"
import { formatDuration } from "../compiler/quantities.ts"
import type { SlurmPartition } from "../runtime/backends/slurm-partitions.ts"
import { formatSize } from "./format-value.ts"

/*
 * Plan warnings: what the files ask for that the cluster can never give. A step on a Slurm
 * location whose jobs ask for more CPUs or memory than any node of their partition has, for more
 * time than the partition allows, or for a partition the cluster does not have, would be queued
 * for ever or refused at submission. `ccat check` cannot know (it does not ask the cluster);
 * `ccat plan` asks sinfo once and warns, and never fails over it.
 */

export type PlanWarningCode = "partition-limit" | "unknown-partition" | "partition-limits-not-checked"

export interface PlanWarning {
  readonly code: PlanWarningCode
  readonly pipeline: string | null
  readonly step: string | null
  readonly location: string | null
  readonly partition: string | null
  readonly resource: "cpus" | "memory" | "time" | "partition" | null
  /** What the step asks: CPUs, bytes, seconds, or the partition's name. */
  readonly asks: number | string | null
  /** What the partition offers in the same unit; for an unknown partition, the cluster's partitions. */
  readonly offers: number | ReadonlyArray<string> | null
  /** The headline, after `Warning: `. */
  readonly summary: string
  /** What it asks and what the partition offers, in one sentence; null for a note. */
  readonly detail: string | null
}

const MiB = 1024 * 1024

/** Whether any step runs on a Slurm location, i.e. whether sinfo needs asking at all. */
export const hasSlurmSteps = (ir: IrWorkspace): boolean =>
  ir.pipelines.some((p) => p.steps.length > 0 && ir.locations.find((l) => l.name === p.location)?.backend.kind === "slurm")

/**
 * The wall time a step's jobs ask for, as slurm-script.ts writes `--time`: the step's `timeout`
 * when it has one, else its `resources { time }`, in minutes rounded up.
 */
const askedTime = (step: IrStep): { readonly seconds: number; readonly field: string } | null => {
  if (step.timeoutSeconds !== null) return { seconds: step.timeoutSeconds, field: "timeout" }
  if (step.resources.timeSeconds !== null) return { seconds: step.resources.timeSeconds, field: "resources.time" }
  return null
}

const quote = (name: string): string => JSON.stringify(name)

const stepWarnings = (
  pipeline: string,
  step: IrStep,
  location: IrLocation,
  partitions: ReadonlyArray<SlurmPartition>
): Array<PlanWarning> => {
  const option = location.backend.options["partition"]
  const fromLocation = typeof option === "string" ? option : null
  const name = step.resources.partition ?? fromLocation
  // Where the partition comes from, as the files spell it.
  const origin = step.resources.partition !== null ? "resources.partition" : `backend.partition of location ${location.name}`
  const partition = name === null ? partitions.find((p) => p.isDefault) : partitions.find((p) => p.name === name)
  const base = { pipeline, step: step.name, location: location.name }
  const label = `step ${pipeline}.${step.name}`

  if (partition === undefined) {
    // No partition named and no default: sbatch says so itself, and there is nothing to compare.
    if (name === null) return []
    const known = partitions.map((p) => (p.isDefault ? `${p.name} (default)` : p.name))
    return [
      {
        code: "unknown-partition",
        ...base,
        partition: name,
        resource: "partition",
        asks: name,
        offers: partitions.map((p) => p.name),
        summary: `${label} asks for partition ${quote(name)}, which the cluster does not have`,
        detail: `${origin}: asks for ${quote(name)}; the cluster's partitions are ${known.length === 0 ? "none" : known.join(", ")}. Slurm would refuse its jobs.`
      }
    ]
  }

  const which = `partition ${quote(partition.name)}${name === null ? " (the cluster's default)" : ""}`
  const out: Array<PlanWarning> = []
  const exceeds = (resource: "cpus" | "memory" | "time", noun: string, asks: number, offers: number, detail: string): PlanWarning => ({
    code: "partition-limit",
    ...base,
    partition: partition.name,
    resource,
    asks,
    offers,
    summary: `${label} asks for more ${noun} than ${which} offers`,
    detail: `${detail} Its jobs could never start.`
  })

  const { cpus, memoryBytes } = step.resources
  if (cpus !== null && partition.maxCpusPerNode !== null && cpus > partition.maxCpusPerNode) {
    out.push(
      exceeds(
        "cpus",
        "CPUs",
        cpus,
        partition.maxCpusPerNode,
        `resources.cpus: asks for ${cpus}; the largest node of ${which} has ${partition.maxCpusPerNode}.`
      )
    )
  }
  // Compared as the job asks: `--mem` in MiB, rounded up.
  if (memoryBytes !== null && partition.maxMemoryMiBPerNode !== null && Math.ceil(memoryBytes / MiB) > partition.maxMemoryMiBPerNode) {
    const offers = partition.maxMemoryMiBPerNode * MiB
    out.push(
      exceeds(
        "memory",
        "memory",
        memoryBytes,
        offers,
        `resources.memory: asks for ${formatSize(memoryBytes)}; the largest node of ${which} has ${formatSize(offers)}.`
      )
    )
  }
  // Compared as the job asks: `--time` in minutes, rounded up.
  const time = askedTime(step)
  if (time !== null && partition.maxTimeSeconds !== null && Math.ceil(time.seconds / 60) * 60 > partition.maxTimeSeconds) {
    out.push(
      exceeds(
        "time",
        "time",
        time.seconds,
        partition.maxTimeSeconds,
        `${time.field}: asks for ${formatDuration(time.seconds)}; ${which} allows at most ${formatDuration(partition.maxTimeSeconds)}.`
      )
    )
  }
  return out
}

/** Every step on a Slurm location compared with the cluster's partitions, in IR order. */
export const partitionWarnings = (ir: IrWorkspace, partitions: ReadonlyArray<SlurmPartition>): ReadonlyArray<PlanWarning> =>
  ir.pipelines.flatMap((p) => {
    const location = ir.locations.find((l) => l.name === p.location)
    if (location === undefined || location.backend.kind !== "slurm") return []
    return p.steps.flatMap((s) => stepWarnings(p.name, s, location, partitions))
  })

/** Said once when sinfo could not be asked; the plan goes on. */
export const partitionsNotChecked = (reason: string): PlanWarning => ({
  code: "partition-limits-not-checked",
  pipeline: null,
  step: null,
  location: null,
  partition: null,
  resource: null,
  asks: null,
  offers: null,
  summary: `partition limits not checked: ${reason}`,
  detail: null
})

/** In the manner of Terraform: a `Warning:` headline, the detail indented under it. */
export const renderWarnings = (warnings: ReadonlyArray<PlanWarning>, bold: (s: string) => string = (s) => s): string =>
  warnings.map((w) => [`${bold("Warning:")} ${w.summary}`, ...(w.detail === null ? [] : ["", `  ${w.detail}`])].join("\n")).join("\n\n")
