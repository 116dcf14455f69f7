import { relativeTime } from "../format.ts"
import { useNow } from "../hooks.ts"

/** "3 min ago", with the exact instant on hover. */
export const RelativeTime = ({ iso, prefix = "" }: { readonly iso: string | null; readonly prefix?: string }) => {
  const now = useNow()
  if (iso === null) return <span class="muted">–</span>
  return (
    <time dateTime={iso} title={iso}>
      {prefix}
      {relativeTime(iso, now)}
    </time>
  )
}
