import type { IrGrouping, IrLocation, IrPipeline, IrSoftware, IrStep, IrWorkspace } from "../compiler/ir.ts"
import { definitionJson, pipelineDefinition } from "./entity-json.ts"
import type { EntityChange, EntityKind } from "./plan.ts"

/*
 * How each kind of definition is stored: its table, the columns that identify a row (written
 * once, when it is created), the columns that point at other definitions, and the columns every
 * update writes again. write-changes.ts creates, updates and retires rows of any kind from this;
 * a new column of a definition is one line here.
 */

export type DefinitionTableName = "location" | "reduction_software" | "data_grouping" | "pipeline" | "reduction_step"

export const tableOf: Readonly<Record<EntityKind, DefinitionTableName>> = {
  location: "location",
  software: "reduction_software",
  grouping: "data_grouping",
  pipeline: "pipeline",
  step: "reduction_step"
}

/** A column's value; JSON and text arrays are bound as JSON text and cast by the database. */
export type ColumnValue =
  | string
  | number
  | boolean
  | null
  | { readonly _tag: "Jsonb"; readonly value: unknown }
  | { readonly _tag: "TextArray"; readonly values: ReadonlyArray<string> }

export const jsonb = (value: unknown): ColumnValue => ({ _tag: "Jsonb", value })
export const textArray = (values: ReadonlyArray<string>): ColumnValue => ({ _tag: "TextArray", values })

export type Column = readonly [column: string, value: ColumnValue]
export type Columns = ReadonlyArray<Column>

/** A column holding the id of another definition, which the IR names. */
export interface Reference {
  readonly column: string
  readonly kind: Exclude<EntityKind, "step">
  readonly name: string
  /** Written when the row is created and never changed: part of what identifies the row (a step's pipeline). */
  readonly key: boolean
}

export interface DefinitionTable<Entity> {
  readonly kind: EntityKind
  readonly table: DefinitionTableName
  /** The entity the plan's IR declares for a change that creates or updates it; undefined when it declares none. */
  readonly declared: (ir: IrWorkspace, change: EntityChange) => Entity | undefined
  /** Written only when the row is created: what identifies it. */
  readonly key: (entity: Entity) => Columns
  readonly references: (entity: Entity) => ReadonlyArray<Reference>
  /** Written on create and again on every update (besides the generations). */
  readonly fields: (entity: Entity) => Columns
}

export const locationTable: DefinitionTable<IrLocation> = {
  kind: "location",
  table: "location",
  declared: (ir, c) => ir.locations.find((x) => x.name === c.name),
  key: (l) => [["name", l.name]],
  references: () => [],
  fields: (l) => [
    ["site", l.site],
    ["backend", l.backend.kind],
    ["definition", jsonb(definitionJson(l))],
    ["hash", l.hash]
  ]
}

export const softwareTable: DefinitionTable<IrSoftware> = {
  kind: "software",
  table: "reduction_software",
  declared: (ir, c) => ir.software.find((x) => x.name === c.name),
  key: (s) => [["name", s.name]],
  references: () => [],
  fields: (s) => [
    ["image", s.image],
    ["command", s.command],
    ["definition", jsonb(definitionJson(s))],
    ["hash", s.hash]
  ]
}

export const groupingTable: DefinitionTable<IrGrouping> = {
  kind: "grouping",
  table: "data_grouping",
  declared: (ir, c) => ir.groupings.find((x) => x.name === c.name),
  key: (g) => [["name", g.name]],
  references: () => [],
  fields: (g) => [
    ["definition", jsonb(definitionJson(g))],
    ["hash", g.hash]
  ]
}

export const pipelineTable: DefinitionTable<IrPipeline> = {
  kind: "pipeline",
  table: "pipeline",
  declared: (ir, c) => ir.pipelines.find((x) => x.name === c.name),
  key: (p) => [["name", p.name]],
  references: (p) => [
    { column: "data_grouping_id", kind: "grouping", name: p.data, key: false },
    { column: "location_id", kind: "location", name: p.location, key: false }
  ],
  fields: (p) => [
    ["trigger_mode", p.trigger.mode.toUpperCase()],
    ["cron", p.trigger.cron],
    ["timezone", p.trigger.timezone],
    ["priority", p.priority],
    ["enabled", p.enabled],
    ["definition", jsonb(pipelineDefinition(p))],
    ["hash", p.hash]
  ]
}

/** A step with the name of its pipeline, which the step itself does not carry. */
export interface PipelineStep {
  readonly pipeline: string
  readonly step: IrStep
}

export const stepTable: DefinitionTable<PipelineStep> = {
  kind: "step",
  table: "reduction_step",
  declared: (ir, c) => {
    const step = ir.pipelines.find((x) => x.name === c.pipeline)?.steps.find((x) => x.name === c.name)
    return step === undefined || c.pipeline === null ? undefined : { pipeline: c.pipeline, step }
  },
  key: ({ step }) => [["name", step.name]],
  references: ({ pipeline, step }) => [
    { column: "pipeline_id", kind: "pipeline", name: pipeline, key: true },
    { column: "software_id", kind: "software", name: step.software.name, key: false }
  ],
  fields: ({ step }) => [
    ["version_range", step.software.range],
    ["version_policy", step.versionPolicy],
    ["group_by", textArray(step.groupBy)],
    ["cooldown_seconds", step.cooldownSeconds],
    ["retries", step.retries],
    ["is_final", step.final],
    ["fingerprint", step.fingerprint],
    ["definition", jsonb(definitionJson(step))],
    ["hash", step.hash]
  ]
}
