import type { NightSpec } from "./schedule.ts"

/*
 * The demo's observing calendar. Three CHAI commissioning nights in early May 2026 (what the
 * `chai_orion_lfa_commissioning` grouping selects), then eight nights of the June 2026 campaign
 * with both instruments (the ad-hoc NGC253 pipeline's window), with gaps for bad weather. Prime-Cam's
 * readout firmware was upgraded after the first three June nights: the older one does not
 * record detector counts, which the Prime-Cam grouping requires. The latest night's newest
 * packages are still in transit.
 */

const commissioning = (date: string, chaiScans: number): NightSpec => ({
  date,
  chaiScans,
  primecamScans: 0,
  commissioning: true,
  readoutFirmware: "1.9.3",
  archive: "settled"
})

const campaign = (date: string, readoutFirmware: string, archive: NightSpec["archive"] = "settled"): NightSpec => ({
  date,
  chaiScans: 20,
  primecamScans: 8,
  commissioning: false,
  readoutFirmware,
  archive
})

export const demoNights: ReadonlyArray<NightSpec> = [
  commissioning("2026-05-02", 14),
  commissioning("2026-05-03", 16),
  commissioning("2026-05-05", 15),
  campaign("2026-06-09", "1.9.3"),
  campaign("2026-06-10", "1.9.3"),
  campaign("2026-06-11", "1.9.3"),
  campaign("2026-06-13", "2.1.0"),
  campaign("2026-06-14", "2.1.0"),
  campaign("2026-06-16", "2.1.0"),
  campaign("2026-06-17", "2.1.0"),
  campaign("2026-06-18", "2.1.0", "in-transit")
]

/** `--more`: one more night of CHAI scans, all archived, so a standing pipeline has exactly one new gap. */
export const moreNight = (date: string, chaiScans: number): NightSpec => ({
  date,
  chaiScans,
  primecamScans: 0,
  commissioning: false,
  readoutFirmware: "2.1.0",
  archive: "all-archived"
})

/** The UTC date after `date` (YYYY-MM-DD). */
export const nextDate = (date: string): string => new Date(Date.parse(`${date}T00:00:00Z`) + 86_400_000).toISOString().slice(0, 10)
