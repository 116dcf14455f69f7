/** A time as people read it in ccat's output: `2026-11-27 10:30 UTC`. */
export const utcMinutes = (d: Date | string): string => `${new Date(d).toISOString().slice(0, 16).replace("T", " ")} UTC`

/** The same to the second, where minutes are too coarse (a cooldown that ends in 20 s): `2026-11-27 10:30:20 UTC`. */
export const utcSeconds = (d: Date | string): string => `${new Date(d).toISOString().slice(0, 19).replace("T", " ")} UTC`
