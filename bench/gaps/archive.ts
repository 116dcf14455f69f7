import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { createHash } from "node:crypto"
import { skySources } from "../sky-sources.ts"

// ---------------------------------------------------------------------------------------------
// Synthetic archive. One observatory, telescope and instrument (CHAI) with its two modules,
// 20 sources, an obs unit per source and line (80), scans spread over nights (40 a night,
// 10 consecutive scans per obs unit), and per scan one ARCHIVED package per module with a
// SHA-256 checksum. Ids are md5-based UUIDs of readable names, the same in SQL and JavaScript.
// ---------------------------------------------------------------------------------------------

export const SCANS_PER_NIGHT = 40
const SCANS_PER_OBS_UNIT_BLOCK = 10

const benchId = (name: string): string => createHash("md5").update(`ccat-bench/${name}`).digest("hex")

const sourceNames = skySources
const lineIds = ["CO43", "CI10", "CO76", "CI21"] as const
export const obsUnitCount = sourceNames.length * lineIds.length

export const seedCatalog = Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`INSERT INTO observatory ${sql.insert({ id: benchId("observatory"), name: "CCAT" })}`
  yield* sql`INSERT INTO telescope ${sql.insert({ id: benchId("telescope"), observatory_id: benchId("observatory"), name: "FYST" })}`
  yield* sql`INSERT INTO instrument ${sql.insert({ id: benchId("instrument/CHAI"), telescope_id: benchId("telescope"), name: "CHAI" })}`
  yield* sql`INSERT INTO instrument_module ${sql.insert([
    { id: benchId("module/LFA"), instrument_id: benchId("instrument/CHAI"), name: "LFA", min_frequency_ghz: 455, max_frequency_ghz: 495 },
    { id: benchId("module/HFA"), instrument_id: benchId("instrument/CHAI"), name: "HFA", min_frequency_ghz: 800, max_frequency_ghz: 820 }
  ])}`
  yield* sql`INSERT INTO observing_program ${sql.insert([
    { id: benchId("program/GEco"), short_name: "GEco", name: "Galactic Ecology" },
    { id: benchId("program/NGAL"), short_name: "NGAL", name: "Nearby Galaxies" }
  ])}`
  yield* sql`INSERT INTO source ${sql.insert(
    sourceNames.map((name, i) => ({
      id: benchId(`source/${name}`),
      name,
      kind: "FIXED",
      ra_deg: (i * 17.3) % 360,
      dec_deg: -60 + ((i * 7.1) % 80)
    }))
  )}`
  yield* sql`INSERT INTO obs_unit ${sql.insert(
    sourceNames.flatMap((source, s) =>
      lineIds.map((line, l) => ({
        id: benchId(`obs-unit/${s * lineIds.length + l}`),
        name: `CHAI_${source.replace(/[^A-Za-z0-9+-]/g, "")}_${line}`,
        line_id: line,
        source_id: benchId(`source/${source}`),
        observing_program_id: benchId(s % 3 === 0 ? "program/NGAL" : "program/GEco")
      }))
    )
  )}`
})

/** Scans `from .. from+count-1` and their two packages each: two set-based statements. */
export const seedScans = (from: number, count: number) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const last = from + count - 1
    const start = sql.literal(
      `(timestamptz '2026-05-01 22:00:00+00' + (i / ${SCANS_PER_NIGHT}) * interval '1 day' + (i % ${SCANS_PER_NIGHT}) * interval '10 minutes')`
    )
    const obsUnit = sql.literal(`md5('ccat-bench/obs-unit/' || ((i / ${SCANS_PER_OBS_UNIT_BLOCK}) % ${obsUnitCount}))::uuid`)
    yield* sql`
      INSERT INTO executed_obs_unit (id, obs_unit_id, start_time, end_time, status, metadata)
      SELECT md5('ccat-bench/scan/' || i)::uuid, ${obsUnit}, ${start}, ${start} + interval '8 minutes',
        CASE WHEN i % 53 = 52 THEN 'INTERRUPTED' ELSE 'SUCCESS' END,
        jsonb_build_object(
          'weather', jsonb_build_object('pwv_mm', round(0.3 + (i::bigint * 7919 % 1000) / 700.0, 2), 'ambient_c', -8 + (i % 11)),
          'scan', jsonb_build_object('pattern', 'OTF', 'number', i))
      FROM generate_series(${from}::int, ${last}::int) AS i`
    yield* sql`
      INSERT INTO raw_data_package (id, name, executed_obs_unit_id, instrument_module_id, state, checksum, size_bytes, created_at, archived_at, metadata)
      SELECT md5('ccat-bench/package/' || i || '/' || v.name)::uuid,
        'chai_' || lpad(i::text, 8, '0') || '_' || v.name,
        md5('ccat-bench/scan/' || i)::uuid, m.id, 'ARCHIVED',
        encode(sha256(convert_to('ccat-bench/checksum/' || i || '/' || v.name, 'UTF8')), 'hex'),
        180000000 + (i % 997) * 100000,
        ${start} + interval '9 minutes', ${start} + interval '40 minutes',
        jsonb_build_object('observation', jsonb_build_object('frequency_ghz', v.ghz, 'channels', 4096, 'pixels', 7))
      FROM generate_series(${from}::int, ${last}::int) AS i
      CROSS JOIN (VALUES ('LFA', 461.04), ('HFA', 806.65)) AS v (name, ghz)
      JOIN instrument_module m ON m.name = v.name
      ORDER BY i, v.name`
  })
