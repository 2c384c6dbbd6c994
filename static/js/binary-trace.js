// The binary trace format of POST .../forward and .../backward (docs/api.md, "Binary traces"):
// a JSON header with the answer's keys, each array replaced by {dtype, shape, offset}, then
// little-endian buffers aligned to 8 bytes. Decoded into the nested structure the views read,
// the innermost rows being Float32Array / Float64Array views on the one buffer (no copy).

export const TRACE_MEDIA_TYPE = "application/vnd.rnn-explorer.trace";

const MAGIC = "RNNT";
const PREFIX = 12;
const TYPED = { float32: Float32Array, float64: Float64Array };

const isDescriptor = (value) =>
  value !== null && typeof value === "object" && !Array.isArray(value) &&
  Object.keys(value).length === 3 && "dtype" in value && "shape" in value && "offset" in value;

/** A flat typed array of `shape` → nested Arrays whose last level is subarray rows. */
function nest(flat, shape) {
  if (shape.length <= 1) return flat;
  const [first, ...rest] = shape;
  const stride = rest.reduce((a, b) => a * b, 1);
  return Array.from({ length: first }, (_, i) => nest(flat.subarray(i * stride, (i + 1) * stride), rest));
}

/** An ArrayBuffer of the binary trace → the answer, as its JSON would read. */
export function decodeTrace(buffer) {
  const view = new DataView(buffer);
  const magic = String.fromCharCode(...new Uint8Array(buffer, 0, 4));
  if (magic !== MAGIC) throw new Error("not a binary trace");
  const version = view.getUint32(4, true);
  if (version !== 1) throw new Error(`binary trace version ${version} is not known`);
  const length = view.getUint32(8, true);
  const start = PREFIX + length;
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, PREFIX, length)));
  const walk = (value) => {
    if (isDescriptor(value)) {
      const Typed = TYPED[value.dtype];
      if (!Typed) throw new Error(`binary trace dtype ${value.dtype} is not known`);
      const count = value.shape.reduce((a, b) => a * b, 1);
      const flat = new Typed(buffer, start + value.offset, count);
      return value.shape.length === 0 ? flat[0] : nest(flat, value.shape);
    }
    if (Array.isArray(value)) return value.map(walk);
    if (value !== null && typeof value === "object") {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v)]));
    }
    return value;
  };
  return walk(header);
}
