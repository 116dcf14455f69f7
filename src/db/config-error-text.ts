import type { ConfigError } from "effect"

/**
 * A configuration error as Effect writes it: `(Missing data at CCAT_DATABASE_URL: "…")`, joined
 * with `and` / `or` when there are several.
 */
export const configErrorText = (error: ConfigError.ConfigError): string =>
  // Effect's ConfigError values define `toString` on their prototype; the type does not declare it.
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- the prototype's toString is the text wanted
  String(error)
