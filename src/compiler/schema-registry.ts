/*
 * The schema registry: which ops-db tables and columns a `where` may filter on, their types and
 * allowed values, how each table joins back to RawDataPackage, and the `group_by` dimensions.
 * This file is data. Adding a filterable column or a dimension is an edit here and nowhere else:
 * the checker, the editor's completion and the runtime's SQL all read from it.
 */

export type ColumnType = "string" | "integer" | "decimal" | "boolean" | "timestamp" | "date" | "json" | "enum" | "uuid"

export interface ColumnDefinition {
  readonly name: string
  readonly type: ColumnType
  readonly description: string
  /** Allowed values of an `enum` column, spelled as in the database. */
  readonly values?: ReadonlyArray<string>
}

/** How a table is reached from RawDataPackage: `parent.foreignKey = this.id`. */
export interface JoinStep {
  readonly parent: string
  readonly foreignKey: string
}

export interface TableDefinition {
  readonly name: string
  readonly sqlTable: string
  readonly description: string
  /** `null` for RawDataPackage itself, the root every selection starts from. */
  readonly join: JoinStep | null
  readonly columns: ReadonlyArray<ColumnDefinition>
}

export interface DimensionDefinition {
  readonly name: string
  readonly description: string
  /** The column whose value names the sub-group; `null` for `all`. */
  readonly key: { readonly table: string; readonly column: string; readonly transform?: "utc_date" } | null
  /** Dimensions whose value is fixed once this one's is (functional dependencies). */
  readonly determines: ReadonlyArray<string>
}

export const packageStates = ["WAITING", "TRANSFERRING", "ARCHIVED", "FAILED"] as const
export const sourceKinds = ["FIXED", "SOLAR_SYSTEM", "CONSTANT_ELEVATION"] as const

const id = (description: string): ColumnDefinition => ({ name: "id", type: "uuid", description })

export const tables: ReadonlyArray<TableDefinition> = [
  {
    name: "RawDataPackage",
    sqlTable: "raw_data_package",
    description: "All raw files of one scan for one instrument module: the unit of archiving and processing.",
    join: null,
    columns: [
      id("The package's id."),
      { name: "name", type: "string", description: "The package's file name in the archive." },
      { name: "state", type: "enum", values: packageStates, description: "Archiving state." },
      { name: "checksum", type: "string", description: "SHA-256 of the package." },
      { name: "size_bytes", type: "integer", description: "Size of the package in bytes." },
      { name: "created_at", type: "timestamp", description: "When the package was created." },
      { name: "archived_at", type: "timestamp", description: "When the package reached the long-term archive." },
      { name: "metadata", type: "json", description: "Free-form metadata, e.g. `observation.frequency_ghz`." }
    ]
  },
  {
    name: "ExecutedObsUnit",
    sqlTable: "executed_obs_unit",
    description: "One execution of an ObsUnit: a scan.",
    join: { parent: "RawDataPackage", foreignKey: "executed_obs_unit_id" },
    columns: [
      id("The scan's id."),
      { name: "start_time", type: "timestamp", description: "When the scan started (UTC)." },
      { name: "end_time", type: "timestamp", description: "When the scan ended (UTC)." },
      { name: "status", type: "enum", values: ["SUCCESS", "INTERRUPTED", "FAILED"], description: "How the scan ended." },
      { name: "metadata", type: "json", description: "Free-form metadata of the scan, e.g. `weather.pwv_mm`." }
    ]
  },
  {
    name: "ObsUnit",
    sqlTable: "obs_unit",
    description: "A planned observation of one source in one spectral line.",
    join: { parent: "ExecutedObsUnit", foreignKey: "obs_unit_id" },
    columns: [
      id("The obs unit's id."),
      { name: "name", type: "string", description: "The obs unit's name." },
      { name: "line_id", type: "string", description: "Spectral line, e.g. `CO43`, `CI10`." }
    ]
  },
  {
    name: "Source",
    sqlTable: "source",
    description: "An astronomical source.",
    join: { parent: "ObsUnit", foreignKey: "source_id" },
    columns: [
      id("The source's id."),
      { name: "name", type: "string", description: "The source's name, e.g. `NGC253`, `IRC+10216`, `Jupiter`." },
      { name: "kind", type: "enum", values: sourceKinds, description: "How the source moves on the sky." },
      { name: "ra_deg", type: "decimal", description: "Right ascension (J2000), degrees." },
      { name: "dec_deg", type: "decimal", description: "Declination (J2000), degrees." }
    ]
  },
  {
    name: "ObservingProgram",
    sqlTable: "observing_program",
    description: "A science or engineering program that owns obs units.",
    join: { parent: "ObsUnit", foreignKey: "observing_program_id" },
    columns: [
      id("The program's id."),
      { name: "short_name", type: "string", description: "Short name, e.g. `GEco`, `Cal`, `ENG`." },
      { name: "name", type: "string", description: "Full name." }
    ]
  },
  {
    name: "InstrumentModule",
    sqlTable: "instrument_module",
    description: "A module of an instrument, e.g. CHAI's LFA.",
    join: { parent: "RawDataPackage", foreignKey: "instrument_module_id" },
    columns: [
      id("The module's id."),
      { name: "name", type: "string", description: "Module name, e.g. `LFA`, `HFA`, `280GHz`." },
      { name: "min_frequency_ghz", type: "decimal", description: "Lower edge of the band, GHz." },
      { name: "max_frequency_ghz", type: "decimal", description: "Upper edge of the band, GHz." }
    ]
  },
  {
    name: "Instrument",
    sqlTable: "instrument",
    description: "An instrument of a telescope: CHAI or Prime-Cam.",
    join: { parent: "InstrumentModule", foreignKey: "instrument_id" },
    columns: [id("The instrument's id."), { name: "name", type: "string", description: "Instrument name, e.g. `CHAI`, `Prime-Cam`." }]
  },
  {
    name: "Telescope",
    sqlTable: "telescope",
    description: "A telescope of an observatory.",
    join: { parent: "Instrument", foreignKey: "telescope_id" },
    columns: [id("The telescope's id."), { name: "name", type: "string", description: "Telescope name, e.g. `FYST`." }]
  },
  {
    name: "Observatory",
    sqlTable: "observatory",
    description: "An observatory.",
    join: { parent: "Telescope", foreignKey: "observatory_id" },
    columns: [id("The observatory's id."), { name: "name", type: "string", description: "Observatory name, e.g. `CCAT`." }]
  }
]

export const dimensions: ReadonlyArray<DimensionDefinition> = [
  {
    name: "raw_data_package",
    description: "One sub-group per raw data package (one scan of one module).",
    key: { table: "RawDataPackage", column: "id" },
    determines: ["executed_obs_unit", "instrument_module"]
  },
  {
    name: "executed_obs_unit",
    description: "One sub-group per scan (all modules of the scan together).",
    key: { table: "ExecutedObsUnit", column: "id" },
    determines: ["obs_unit", "night"]
  },
  {
    name: "obs_unit",
    description: "One sub-group per obs unit (all its scans).",
    key: { table: "ObsUnit", column: "id" },
    determines: ["source", "line", "observing_program"]
  },
  { name: "source", description: "One sub-group per source.", key: { table: "Source", column: "name" }, determines: [] },
  { name: "line", description: "One sub-group per spectral line.", key: { table: "ObsUnit", column: "line_id" }, determines: [] },
  {
    name: "instrument_module",
    description: "One sub-group per instrument module.",
    key: { table: "InstrumentModule", column: "name" },
    determines: ["instrument"]
  },
  { name: "instrument", description: "One sub-group per instrument.", key: { table: "Instrument", column: "name" }, determines: [] },
  {
    name: "observing_program",
    description: "One sub-group per observing program.",
    key: { table: "ObservingProgram", column: "short_name" },
    determines: []
  },
  {
    name: "night",
    description: "One sub-group per UTC date of the scan's start.",
    key: { table: "ExecutedObsUnit", column: "start_time", transform: "utc_date" },
    determines: []
  },
  { name: "all", description: "A single sub-group with everything.", key: null, determines: [] }
]

const tableIndex = new Map(tables.map((t) => [t.name, t]))
const dimensionIndex = new Map(dimensions.map((d) => [d.name, d]))

export const findTable = (name: string): TableDefinition | undefined => tableIndex.get(name)
export const findColumn = (table: TableDefinition, name: string): ColumnDefinition | undefined => table.columns.find((c) => c.name === name)
export const findDimension = (name: string): DimensionDefinition | undefined => dimensionIndex.get(name)

/** The tables to join, in order, to reach `table` from RawDataPackage. */
export const joinPath = (table: string): ReadonlyArray<TableDefinition> => {
  const path: Array<TableDefinition> = []
  for (let t = findTable(table); t !== undefined && t.join !== null; t = findTable(t.join.parent)) path.unshift(t)
  return path
}

/** Every dimension whose value is fixed by the given ones (the closure of `determines`). */
export const determinedBy = (dims: ReadonlyArray<string>): ReadonlySet<string> => {
  const seen = new Set<string>(["all"])
  const stack = [...dims]
  while (stack.length > 0) {
    const d = stack.pop()!
    if (seen.has(d) && d !== "all") continue
    seen.add(d)
    stack.push(...(findDimension(d)?.determines ?? []))
  }
  return seen
}

/**
 * Whether every sub-group of `finer` lies inside one sub-group of `coarser`: the condition for
 * a step grouped by `coarser` to take the outputs of a step grouped by `finer`.
 */
export const nestsIn = (finer: ReadonlyArray<string>, coarser: ReadonlyArray<string>): boolean => {
  const fixed = determinedBy(finer)
  return coarser.every((d) => fixed.has(d))
}
