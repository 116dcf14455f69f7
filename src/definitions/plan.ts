import type { IrJson, IrWorkspace } from "../compiler/ir.ts"

/*
 * A plan: what `ccat apply` would do to the stored definitions to make them match a compiled
 * workspace. Plain data, made by `planChanges` (diff.ts), printed by render-plan.ts, saved by
 * plan-json.ts and carried out by apply.ts.
 */

export type EntityKind = "location" | "software" | "grouping" | "pipeline" | "step"

/**
 * - `create`: a new definition row.
 * - `change`: fields of an active definition change in place.
 * - `reenable`: a retired definition is declared again; it becomes active (with its history)
 *   and takes the fields of the files.
 * - `retire`: an active definition is no longer declared; it is disabled and kept, never deleted.
 */
export type ChangeAction = "create" | "change" | "reenable" | "retire"

/** One field's old and new value; `undefined` when the field (e.g. a config key) is absent. */
export interface ValueChange {
  readonly type: "value"
  /** The field as the language spells it: `cooldown`, `resources.cpus`, `config.calibration_mode`. */
  readonly field: string
  readonly old: IrJson | undefined
  readonly new: IrJson | undefined
}

/** Members added to or removed from a set-valued field (a software's versions). */
export interface SetChange {
  readonly type: "set"
  readonly field: string
  readonly added: ReadonlyArray<string>
  readonly removed: ReadonlyArray<string>
}

export type FieldChange = ValueChange | SetChange

/**
 * Whether a changed step processes its data again:
 * - `fingerprint`: its software identity (under its version policy), command or config changed;
 * - `inputs`: its fingerprint is the same but what it reads (`after`, `group_by`, `fan_out`)
 *   changed, so every sub-group has a new input identity;
 * - `none`: only scheduling (resources, cooldown, retries, …) or descriptive fields changed.
 */
export type Reprocess = "fingerprint" | "inputs" | "none"

export interface EntityChange {
  readonly action: ChangeAction
  readonly kind: EntityKind
  readonly name: string
  /** The pipeline of a step; `null` for every other kind. */
  readonly pipeline: string | null
  /** For `change` and `reenable`; empty for `create` and `retire`. */
  readonly fields: ReadonlyArray<FieldChange>
  /** For `reenable`: the generation that retired it. */
  readonly retiredGeneration: number | null
  /** For a `create` that is the second half of a rename: the retired name. */
  readonly renamedFrom: string | null
  /** For a `retire` that is the first half of a rename: the created name. */
  readonly renamedTo: string | null
  /** For a step's `change` or `reenable`. */
  readonly reprocess: Reprocess | null
}

export interface PlanSummary {
  readonly create: number
  /** Changes and re-enables: both update a definition in place. */
  readonly change: number
  readonly retire: number
}

export interface Plan {
  /** The definitions generation the plan was made against (0: nothing applied yet). */
  readonly baseGeneration: number
  /** The workspace the definitions will match after applying. */
  readonly ir: IrWorkspace
  /**
   * Locations, then software, then groupings, then each pipeline followed by its steps. Within a
   * kind: declared entities in IR order, the retired half of a rename just before its other half,
   * then the other retirements by name.
   */
  readonly changes: ReadonlyArray<EntityChange>
  readonly summary: PlanSummary
}

export const hasChanges = (plan: Plan): boolean => plan.changes.length > 0

export const summarize = (changes: ReadonlyArray<EntityChange>): PlanSummary => ({
  create: changes.filter((c) => c.action === "create").length,
  change: changes.filter((c) => c.action === "change" || c.action === "reenable").length,
  retire: changes.filter((c) => c.action === "retire").length
})
