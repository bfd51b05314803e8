// Writes safetensors files for tests: u64 LE header length, JSON header
// {name: {dtype, shape, data_offsets}}, then the raw little-endian data.
export function safetensors(entries) {
  const header = { __metadata__: { format: 'pt' } };
  let offset = 0;
  for (const { key, dtype, shape, bytes } of entries) {
    header[key] = { dtype, shape, data_offsets: [offset, offset + bytes.length] };
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const size = Buffer.alloc(8);
  size.writeBigUInt64LE(BigInt(Buffer.byteLength(json)));
  return Buffer.concat([size, Buffer.from(json, 'utf8'), ...entries.map((e) => e.bytes)]);
}

// Zero-filled float32 tensors: { name: shape } → safetensors bytes.
export function zeroSafetensors(shapes) {
  return safetensors(Object.entries(shapes).map(([key, shape]) => (
    { key, dtype: 'F32', shape, bytes: Buffer.alloc(4 * shape.reduce((a, b) => a * b, 1)) })));
}
