import type { Span } from "./span.ts"

/*
 * The abstract syntax tree: what the source says, before any meaning is checked. Blocks hold
 * generic properties; `properties.ts` decides which property belongs where. Every node has a
 * span. Nodes made from a partially recovered parse may lack pieces, never spans.
 */

export interface Identifier {
  readonly text: string
  readonly span: Span
}

export type Value =
  | { readonly kind: "string"; readonly value: string; readonly raw: string; readonly span: Span; readonly terminated: boolean }
  | { readonly kind: "integer"; readonly value: number; readonly raw: string; readonly span: Span }
  | { readonly kind: "decimal"; readonly value: number; readonly raw: string; readonly span: Span }
  | { readonly kind: "boolean"; readonly value: boolean; readonly raw: string; readonly span: Span }
  | { readonly kind: "quantity"; readonly raw: string; readonly span: Span }
  | { readonly kind: "percent"; readonly value: number; readonly raw: string; readonly span: Span }
  | { readonly kind: "date"; readonly raw: string; readonly span: Span }
  | { readonly kind: "timestamp"; readonly raw: string; readonly span: Span }
  | { readonly kind: "version"; readonly raw: string; readonly span: Span }
  | { readonly kind: "identifier"; readonly raw: string; readonly span: Span }
  | { readonly kind: "list"; readonly items: ReadonlyArray<Value>; readonly span: Span }
  | {
      readonly kind: "map"
      readonly entries: ReadonlyArray<MapEntry>
      readonly span: Span
      /** Some entry's value was left out after its own diagnostic: what is missing is no news. */
      readonly incomplete: boolean
    }

export type ValueKind = Value["kind"]

export interface MapEntry {
  readonly key: Identifier
  readonly value: Value
  readonly span: Span
  /** Written `a.b = …` (an error, E075). */
  readonly dotted: boolean
}

/** `cpus 4`, `partition "batch"`: a key with one value, inside `resources { }` or `backend x { }`. */
export interface Entry {
  readonly key: Identifier
  readonly value: Value
  readonly span: Span
}

/** `science "*.fits" min 2` inside `outputs { }`: a kind, an optional pattern and count. */
export interface OutputRule {
  readonly kind: Identifier
  /** Any literal parses here; the checker wants a string. */
  readonly pattern: Value | undefined
  /** `min N`; `count` is missing when a syntax error took it. */
  readonly min: { readonly keyword: Identifier; readonly count: Value | undefined } | undefined
  readonly span: Span
}

/** `on OOM memory x2` inside the braces of `retries … { }`. */
export interface RetryAdjustment {
  readonly on: Identifier
  readonly reason: Identifier
  readonly resource: Identifier
  /** Any value parses here; the checker wants a factor such as `x2` (an identifier to the lexer). */
  readonly factor: Value
  readonly span: Span
}

export type Expression =
  | { readonly kind: "and"; readonly operands: ReadonlyArray<Expression>; readonly span: Span }
  | { readonly kind: "or"; readonly operands: ReadonlyArray<Expression>; readonly span: Span }
  | { readonly kind: "not"; readonly operand: Expression; readonly span: Span }
  | Comparison

export type ComparisonOperator = "==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in" | "like" | "not like"

export interface ColumnPath {
  readonly table: Identifier
  /** The column, then JSON path segments. */
  readonly segments: ReadonlyArray<Identifier>
  readonly span: Span
}

export interface Comparison {
  readonly kind: "comparison"
  readonly column: ColumnPath
  readonly operator: ComparisonOperator
  readonly operatorSpan: Span
  /** One value, or the items of `in (...)`. */
  readonly values: ReadonlyArray<Value>
  readonly span: Span
}

export interface VersionRangeNode {
  readonly operator: string
  readonly version: string | null
  readonly raw: string
  readonly span: Span
}

export type Property =
  | { readonly kind: "value"; readonly keyword: Identifier; readonly values: ReadonlyArray<Value>; readonly span: Span }
  | {
      readonly kind: "run"
      readonly keyword: Identifier
      readonly software: Identifier | undefined
      readonly range: VersionRangeNode | undefined
      readonly span: Span
    }
  | {
      readonly kind: "trigger"
      readonly keyword: Identifier
      readonly mode: Identifier | undefined
      readonly schedule: Value | undefined
      readonly timezone: Value | undefined
      readonly span: Span
    }
  | { readonly kind: "where"; readonly keyword: Identifier; readonly expression: Expression | undefined; readonly span: Span }
  | { readonly kind: "config"; readonly keyword: Identifier; readonly map: Value | undefined; readonly span: Span }
  | { readonly kind: "resources"; readonly keyword: Identifier; readonly entries: ReadonlyArray<Entry>; readonly span: Span }
  | {
      readonly kind: "outputs"
      readonly keyword: Identifier
      readonly rules: ReadonlyArray<OutputRule>
      /** Written `outputs { }`, with nothing but whitespace and comments inside. */
      readonly empty: boolean
      readonly span: Span
    }
  | {
      readonly kind: "retries"
      readonly keyword: Identifier
      /** Missing only after its own diagnostic (E005), or when a syntax error took it. */
      readonly count: Value | undefined
      /** `on TIMEOUT, OOM`: absent without the list. */
      readonly on: { readonly keyword: Identifier; readonly reasons: ReadonlyArray<Identifier>; readonly span: Span } | undefined
      /** The adjustments in its braces; absent without braces. */
      readonly adjustments: ReadonlyArray<RetryAdjustment> | undefined
      readonly span: Span
    }
  | {
      readonly kind: "backend"
      readonly keyword: Identifier
      readonly backend: Identifier | undefined
      readonly options: ReadonlyArray<Entry>
      readonly span: Span
    }
  | { readonly kind: "flag"; readonly keyword: Identifier; readonly value: boolean; readonly span: Span }
  | { readonly kind: "step"; readonly keyword: Identifier; readonly step: StepDeclaration; readonly span: Span }
  | { readonly kind: "unknown"; readonly keyword: Identifier; readonly span: Span }

export type PropertyKind = Property["kind"]

export interface StepDeclaration {
  readonly name: Identifier | undefined
  readonly properties: ReadonlyArray<Property>
  readonly span: Span
  readonly keywordSpan: Span
}

export type DeclarationKind = "location" | "software" | "grouping" | "pipeline"

export interface Declaration {
  readonly kind: DeclarationKind
  readonly name: Identifier | undefined
  readonly properties: ReadonlyArray<Property>
  readonly span: Span
  readonly keywordSpan: Span
}

export interface SourceFile {
  readonly path: string
  readonly text: string
  readonly declarations: ReadonlyArray<Declaration>
  /** Steps written at top level, outside any pipeline: kept so the checker can say so. */
  readonly strayDeclarationSteps: ReadonlyArray<StepDeclaration>
}
