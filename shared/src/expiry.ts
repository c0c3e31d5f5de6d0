/** Licence lifetimes as people type them: "30d", "12h", "90m", "45s", or an RFC 3339 timestamp. */
import { SigilError } from './errors.js';

const DURATION = /^([1-9][0-9]{0,6})([smhd])$/;
const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** The expiry `value` names, as an ISO timestamp; BAD_USAGE (naming `what`) for anything else. */
export function parseExpiry(value: string, now = Date.now(), what = '--expires'): string {
  const d = DURATION.exec(value.trim());
  if (d) return new Date(now + Number(d[1]) * UNIT_MS[d[2] as keyof typeof UNIT_MS]).toISOString();
  if (/^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(Date.parse(value))) return value;
  throw new SigilError(
    'BAD_USAGE',
    `${what} must be a duration such as 30d, 12h, 90m or an RFC 3339 timestamp, got ${JSON.stringify(value)}`,
  );
}
