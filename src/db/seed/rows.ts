import { modules, obsUnits, observatoryName, programs, sources, telescopeName, type InstrumentName } from "./catalog.ts"
import { demoId } from "./ids.ts"
import type { PlannedPackage, PlannedScan } from "./schedule.ts"

/*
 * Database rows of the demo, keyed by deterministic ids (see ids.ts). Column names are those of
 * migrations/0001_observation.ts; timestamps are the dataset's own, never `now()`, so that two
 * seeds produce the same rows.
 */

export type Row = Record<string, unknown>

export const archiveLocationName = "cologne_archive"

export const ids = {
  observatory: demoId(`observatory/${observatoryName}`),
  telescope: demoId(`telescope/${telescopeName}`),
  instrument: (name: InstrumentName) => demoId(`instrument/${name}`),
  module: (instrument: string, name: string) => demoId(`module/${instrument}/${name}`),
  program: (shortName: string) => demoId(`program/${shortName}`),
  source: (name: string) => demoId(`source/${name}`),
  obsUnit: (name: string) => demoId(`obs-unit/${name}`),
  archive: demoId(`location/${archiveLocationName}`),
  file: (packageName: string, fileName: string) => demoId(`file/${packageName}/${fileName}`)
}

/** The fixed part of the observatory, parents before children. */
export const catalogRows = (archiveRoot: string): ReadonlyArray<readonly [table: string, rows: ReadonlyArray<Row>]> => [
  ["observatory", [{ id: ids.observatory, name: observatoryName }]],
  ["telescope", [{ id: ids.telescope, observatory_id: ids.observatory, name: telescopeName }]],
  ["instrument", (["CHAI", "Prime-Cam"] as const).map((name) => ({ id: ids.instrument(name), telescope_id: ids.telescope, name }))],
  [
    "instrument_module",
    modules.map((m) => ({
      id: ids.module(m.instrument, m.name),
      instrument_id: ids.instrument(m.instrument),
      name: m.name,
      min_frequency_ghz: m.minGhz,
      max_frequency_ghz: m.maxGhz
    }))
  ],
  ["observing_program", programs.map((p) => ({ id: ids.program(p.shortName), short_name: p.shortName, name: p.name }))],
  ["source", sources.map((s) => ({ id: ids.source(s.name), name: s.name, kind: s.kind, ra_deg: s.raDeg, dec_deg: s.decDeg }))],
  [
    "obs_unit",
    obsUnits.map((u) => ({
      id: ids.obsUnit(u.name),
      name: u.name,
      line_id: u.line,
      source_id: ids.source(u.source),
      observing_program_id: ids.program(u.program)
    }))
  ],
  [
    "data_location",
    [
      {
        id: ids.archive,
        name: archiveLocationName,
        location_type: "LONG_TERM_ARCHIVE",
        storage_type: "DISK",
        site: "cologne",
        root_path: archiveRoot
      }
    ]
  ]
]

export const scanRow = (s: PlannedScan): Row => ({
  id: s.id,
  obs_unit_id: ids.obsUnit(s.obsUnit.name),
  start_time: s.start,
  end_time: s.end,
  status: s.status,
  metadata: s.metadata
})

/** Where a package's files live, relative to the archive root: by instrument, night and package. */
export const packageFolder = (scan: PlannedScan, p: PlannedPackage): string =>
  `${scan.obsUnit.instrument === "CHAI" ? "chai" : "primecam"}/${scan.date}/${p.name}`

export interface WrittenFile {
  readonly name: string
  readonly relativePath: string
  readonly sizeBytes: number
  readonly checksum: string
}

/** A package's row; only packages in the archive have files, so only they have a size and checksum. */
export const packageRow = (s: PlannedScan, p: PlannedPackage, files: ReadonlyArray<WrittenFile>, checksum: string | null): Row => ({
  id: p.id,
  name: p.name,
  executed_obs_unit_id: s.id,
  instrument_module_id: ids.module(p.module.instrument, p.module.name),
  state: p.state,
  checksum,
  size_bytes: files.reduce((n, f) => n + f.sizeBytes, 0),
  created_at: p.createdAt,
  archived_at: p.archivedAt,
  metadata: p.metadata
})

export const fileRows = (p: PlannedPackage, files: ReadonlyArray<WrittenFile>): ReadonlyArray<Row> =>
  files.map((f) => ({
    id: ids.file(p.name, f.name),
    raw_data_package_id: p.id,
    name: f.name,
    relative_path: f.relativePath,
    size_bytes: f.sizeBytes,
    checksum: f.checksum,
    created_at: p.createdAt
  }))

/**
 * The archive's copies: one for the package (its folder) and one per file, paths relative to
 * the location's root. A file copy names only the file, so that "packages present here" counts
 * each package once.
 */
export const copyRows = (s: PlannedScan, p: PlannedPackage, files: ReadonlyArray<WrittenFile>): ReadonlyArray<Row> => {
  const copy = (target: Row, path: string): Row => ({
    data_location_id: ids.archive,
    raw_data_package_id: null,
    raw_data_file_id: null,
    ...target,
    path,
    status: "PRESENT",
    created_at: p.archivedAt,
    updated_at: p.archivedAt
  })
  return [
    copy({ raw_data_package_id: p.id }, packageFolder(s, p)),
    ...files.map((f) => copy({ raw_data_file_id: ids.file(p.name, f.name) }, f.relativePath))
  ]
}
