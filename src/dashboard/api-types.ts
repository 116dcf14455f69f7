import type { Schema } from "effect"
import type * as Api from "../api/schemas.ts"

/*
 * The API's shapes as the dashboard receives them, derived from the schemas the server encodes
 * with (src/api/schemas.ts), so a change there is a type error here. Type-only: nothing of
 * effect reaches the bundle.
 */

type Decoded<S extends Schema.Schema.Any> = Schema.Schema.Type<S>

export type RunStatus = Decoded<typeof Api.RunStatusSchema>
export type Run = Decoded<typeof Api.RunSchema>
export type RunPage = Decoded<typeof Api.RunPageSchema>
export type RunEvent = Decoded<typeof Api.RunEventSchema>
export type RunInput = Decoded<typeof Api.RunInputSchema>
export type RunProduct = Decoded<typeof Api.RunProductSchema>
export type RunDetail = Decoded<typeof Api.RunDetailSchema>
export type CancelOutcome = Decoded<typeof Api.CancelOutcomeSchema>
export type RetryOutcome = Decoded<typeof Api.RetryOutcomeSchema>
export type RunRequestOutcome = Decoded<typeof Api.RunRequestOutcomeSchema>
export type StepOverview = Decoded<typeof Api.StepOverviewSchema>
export type PipelineOverview = Decoded<typeof Api.PipelineOverviewSchema>
export type Overview = Decoded<typeof Api.OverviewSchema>
export type PipelineDefinition = Decoded<typeof Api.PipelineDefinitionSchema>
export type Why = Decoded<typeof Api.WhySchema>
export type ProductDetail = Decoded<typeof Api.ProductDetailSchema>
export type Lineage = Decoded<typeof Api.LineageSchema>
export type LineageNode = Decoded<typeof Api.LineageNodeSchema>
export type Actor = Decoded<typeof Api.ActorSchema>
export type LogStream = Decoded<typeof Api.LogStreamSchema>

/** The run query's parameters as they travel in a URL (the server decodes the strings). */
export interface RunFilter {
  readonly pipeline?: string
  readonly step?: string
  readonly status?: string
  readonly subGroup?: string
  readonly reason?: string
  readonly since?: string
  readonly cursor?: string
}

export const runStatuses: ReadonlyArray<RunStatus> = [
  "PENDING",
  "STAGING_DATA",
  "SUBMITTED",
  "RUNNING",
  "COLLECTING_RESULTS",
  "COMPLETED",
  "FAILED",
  "CANCELLED"
]
