/** A time as people read it in ccat's output: `2026-11-27 10:30 UTC`. */
export const utcMinutes = (d: Date | string): string => `${new Date(d).toISOString().slice(0, 16).replace("T", " ")} UTC`
