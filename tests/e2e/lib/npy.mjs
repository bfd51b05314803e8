// Reads NumPy .npy files (little-endian, C order) into { dtype, shape, data }.
import { readFileSync } from 'node:fs';

const TYPES = {
  '<f2': ['float16', Uint16Array], '<f4': ['float32', Float32Array], '<f8': ['float64', Float64Array], '|i1': ['int8', Int8Array],
  '<i2': ['int16', Int16Array], '<i4': ['int32', Int32Array], '<i8': ['int64', BigInt64Array],
  '|u1': ['uint8', Uint8Array], '|b1': ['bool', Uint8Array],
};

export function readNpy(path) {
  const buf = readFileSync(path);
  if (buf.toString('latin1', 1, 6) !== 'NUMPY') throw new Error(`${path}: not a .npy file`);
  const major = buf[6];
  const headerLength = major === 1 ? buf.readUInt16LE(8) : buf.readUInt32LE(8);
  const offset = (major === 1 ? 10 : 12);
  const header = buf.toString('latin1', offset, offset + headerLength);
  const descr = /'descr':\s*'([^']+)'/.exec(header)[1];
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)[1].match(/\d+/g) || []).map(Number);
  if (!TYPES[descr]) throw new Error(`${path}: unsupported dtype ${descr}`);
  const [dtype, ArrayType] = TYPES[descr];
  const start = offset + headerLength;
  const bytes = buf.subarray(start);
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  const data = new ArrayType(copy.buffer, 0, bytes.length / ArrayType.BYTES_PER_ELEMENT);
  return { dtype, shape, data: dtype === 'bool' ? Uint8Array.from(data) : data };
}

// The number an IEEE half (as its 16 bits) stands for.
export function halfToNumber(bits) {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}
