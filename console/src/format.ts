/** Times as people read them: "in 1 h 59 min", "3 min ago", with the exact time for a tooltip. */

/** A duration: "45 s", "12 min", "2 h 5 min", "3 days". */
export function span(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 48) return min % 60 === 0 ? `${h} h` : `${h} h ${min % 60} min`;
  return `${Math.round(h / 24)} days`;
}

/** Relative to now; '—' for a missing or unreadable time. */
export function relative(iso: unknown, now: number): string {
  if (typeof iso !== 'string') return '—';
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return '—';
  const d = at - now;
  if (Math.abs(d) < 1000) return 'now';
  return d > 0 ? `in ${span(d)}` : `${span(-d)} ago`;
}

/** The exact time, in the browser's time zone. */
export function exact(iso: unknown): string {
  if (typeof iso !== 'string') return '';
  const at = Date.parse(iso);
  return Number.isNaN(at) ? '' : new Date(at).toLocaleString();
}
