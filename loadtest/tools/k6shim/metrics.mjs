// k6/metrics stand-in for the dry run: Trend, Rate, Counter, Gauge record their samples.
import { S } from './state.mjs';
class M { constructor(name, isTime) { this.name = name; this.v = S.metrics[name] = []; } add(x, tags) { if (typeof x !== 'number' && typeof x !== 'boolean') throw new Error('metric add non-number ' + this.name); this.v.push(Number(x)); } }
export class Trend extends M {}
export class Rate extends M {}
export class Counter extends M {}
export class Gauge extends M {}
