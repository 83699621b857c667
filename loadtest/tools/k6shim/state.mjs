// Shared counters of the dry run (checks, metrics, requests).
export const S = { checks: {}, metrics: {}, reqs: 0, failed: 0, byStatus: {} };
