// k6/crypto stand-in for the dry run: randomBytes() from node:crypto.
import { randomBytes as rb } from 'node:crypto';
export function randomBytes(n) { const b = rb(n); return b.buffer.slice(b.byteOffset, b.byteOffset + n); }
export default { randomBytes };
