import { Hl7ParseError } from './errors';

/** A parsed accessor path: SEG[occurrence]-field[repetition].component.subcomponent, all 1-based. */
export interface Hl7Path {
  segment: string;
  occurrence: number;
  field: number; // 0: the segment itself
  repetition: number | null;
  component: number | null;
  subcomponent: number | null;
}

const PATH_RE = /^([A-Z0-9]{3})(?:\[(\d+)\])?(?:-(\d+)(?:\[(\d+)\])?(?:\.(\d+)(?:\.(\d+))?)?)?$/;
const cache = new Map<string, Hl7Path>();

/** Parses `PID-3[2].4.2`, `OBX[2]-5`, `MSH-9.2`, `PID` … (cached: paths are few and reused). */
export function parsePath(path: string): Hl7Path {
  let p = cache.get(path);
  if (p) return p;
  const m = PATH_RE.exec(path.trim());
  const num = (s: string | undefined) => (s === undefined ? null : Number(s));
  if (!m || [m[2], m[3], m[4], m[5], m[6]].some((s) => s !== undefined && Number(s) < 1)) {
    throw new Hl7ParseError('BAD_PATH', `"${path}" is not an HL7 path (expected e.g. PID-3[2].4.2, OBX[2]-5)`);
  }
  p = {
    segment: m[1],
    occurrence: num(m[2]) ?? 1,
    field: num(m[3]) ?? 0,
    repetition: num(m[4]),
    component: num(m[5]),
    subcomponent: num(m[6]),
  };
  if (cache.size < 10000) cache.set(path, p);
  return p;
}
