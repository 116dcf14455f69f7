import type { GrowableResource, RetryReason } from "./ir.ts"
import type { OutputKindSpec } from "./properties.ts"
import type { SemVer, VersionRange } from "./semver.ts"
import type { Span } from "./span.ts"

/*
 * The checked model: each declaration after its properties, references and values were
 * validated. Lowering to the IR only reshapes it; the language server reads it for hover.
 */

export type Json = string | number | boolean | null | ReadonlyArray<Json> | { readonly [key: string]: Json }
export type JsonObject = { readonly [key: string]: Json }

export type FilterValue =
  | { readonly type: "string"; readonly value: string }
  | { readonly type: "number"; readonly value: number }
  | { readonly type: "boolean"; readonly value: boolean }
  | { readonly type: "timestamp"; readonly value: string }
  | { readonly type: "date"; readonly value: string }

export type CompareOperator = "==" | "!=" | "<" | "<=" | ">" | ">="

export type Filter =
  | { readonly kind: "and"; readonly operands: ReadonlyArray<Filter>; readonly span: Span }
  | { readonly kind: "or"; readonly operands: ReadonlyArray<Filter>; readonly span: Span }
  | { readonly kind: "not"; readonly operand: Filter; readonly span: Span }
  | {
      readonly kind: "compare"
      readonly table: string
      readonly column: string
      readonly jsonPath: ReadonlyArray<string>
      readonly operator: CompareOperator
      readonly value: FilterValue
      readonly span: Span
    }
  | {
      readonly kind: "in"
      readonly table: string
      readonly column: string
      readonly jsonPath: ReadonlyArray<string>
      readonly negated: boolean
      readonly values: ReadonlyArray<FilterValue>
      readonly span: Span
    }
  | {
      readonly kind: "like"
      readonly table: string
      readonly column: string
      readonly jsonPath: ReadonlyArray<string>
      readonly negated: boolean
      readonly pattern: string
      readonly span: Span
    }

export interface LocationModel {
  readonly name: string
  readonly span: Span
  readonly description: string | null
  readonly site: string | null
  readonly backend: { readonly kind: string; readonly options: Readonly<Record<string, string | number>> }
  readonly baseDir: string | null
  readonly purgeAbovePercent: number | null
  readonly containerRuntime: "apptainer" | "none"
}

export interface Placeholder {
  /** `version`, or `config.a.b`. */
  readonly text: string
  readonly configPath: ReadonlyArray<string> | null
  readonly span: Span
}

export interface SoftwareModel {
  readonly name: string
  readonly span: Span
  readonly description: string | null
  readonly image: string
  readonly versions: ReadonlyArray<SemVer>
  /** False when some declared version did not parse (E061): a range may have meant it. */
  readonly allVersionsValid: boolean
  readonly command: string
  readonly placeholders: ReadonlyArray<Placeholder>
}

export interface GroupingModel {
  readonly name: string
  readonly span: Span
  readonly description: string | null
  readonly from: string | null
  /** This grouping's own `where` clauses, ANDed; `null` when it has none. */
  readonly where: Filter | null
}

export interface ResourcesModel {
  readonly cpus: number | null
  readonly memoryBytes: number | null
  readonly timeSeconds: number | null
  readonly partition: string | null
  readonly gpus: number | null
}

/** One rule of `outputs { }`: at least `min` files of a kind, those matching `pattern` if given. */
export interface OutputRuleModel {
  readonly kind: OutputKindSpec["name"]
  readonly pattern: string | null
  readonly min: number
}

/** `on OOM memory x2` of `retries … { }`: each failure of the reason multiplies the resource. */
export interface RetryAdjustmentModel {
  readonly reason: RetryReason
  readonly resource: GrowableResource
  readonly factor: number
}

export interface StepModel {
  readonly name: string
  readonly span: Span
  readonly description: string | null
  readonly after: ReadonlyArray<string>
  readonly software: string
  readonly range: VersionRange
  readonly resolvedVersion: SemVer
  readonly groupBy: ReadonlyArray<string>
  readonly cooldownSeconds: number | null
  readonly config: JsonObject
  readonly resources: ResourcesModel
  readonly retries: number
  /** `retries N on …`, in IR order; null without the list (any failure is retried). */
  readonly retryOn: ReadonlyArray<RetryReason> | null
  /** The adjustments of `retries … { }`, in IR order; null when there are none. */
  readonly retryAdjust: ReadonlyArray<RetryAdjustmentModel> | null
  readonly timeoutSeconds: number | null
  readonly versionPolicy: "compatible" | "exact"
  readonly final: boolean | null
  readonly fanOut: boolean
  /** The rules of its `outputs` block, in IR order; null without the block (the runtime's default). */
  readonly outputs: ReadonlyArray<OutputRuleModel> | null
}

export interface TriggerModel {
  readonly mode: "continuous" | "cron" | "manual"
  readonly cron: string | null
  readonly timezone: string | null
}

export interface PipelineModel {
  readonly name: string
  readonly span: Span
  readonly description: string | null
  readonly data: string
  readonly location: string
  readonly trigger: TriggerModel
  readonly priority: number
  readonly enabled: boolean
  readonly steps: ReadonlyArray<StepModel>
}
