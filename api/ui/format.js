// Number, time and money formatting shared by every page.

export function parseTime(value) {
  return value ? new Date(value).getTime() : NaN;
}

/** Formats an ISO time as local "YYYY-MM-DD HH:MM:SS". */
export function formatTime(value) {
  const ms = parseTime(value);
  if (Number.isNaN(ms)) return '';
  const d = new Date(ms);
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ` +
    `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** Formats a duration given in milliseconds. */
export function formatDuration(ms) {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '';
  if (ms < 1) return '<1ms';
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(2)}s`;
  const minutes = Math.floor(ms / 60000);
  return `${minutes}m ${Math.round((ms % 60000) / 1000)}s`;
}

/** Formats a cost in USD; small costs keep their significant digits. */
export function formatCost(usd) {
  if (usd === null || usd === undefined || Number.isNaN(usd)) return '';
  if (usd === 0) return '$0';
  if (usd < 0.01) return '$' + usd.toPrecision(3);
  return '$' + usd.toFixed(4);
}

export function formatCount(n) {
  if (n === null || n === undefined) return '';
  return Number(n).toLocaleString('en-US');
}

/** Formats a byte count for "show all" buttons. */
export function formatBytes(n) {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/** Returns "3m ago"-style text for recent times. */
export function relative(value) {
  const ms = Date.now() - parseTime(value);
  if (Number.isNaN(ms)) return '';
  if (ms < 60000) return `${Math.max(0, Math.round(ms / 1000))}s ago`;
  if (ms < 3600000) return `${Math.round(ms / 60000)}m ago`;
  if (ms < 86400000) return `${Math.round(ms / 3600000)}h ago`;
  return `${Math.round(ms / 86400000)}d ago`;
}
