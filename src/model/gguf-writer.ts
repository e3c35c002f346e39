import {createHash, randomBytes} from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'

// GGUF v3, little-endian: https://github.com/ggml-org/ggml/blob/master/docs/gguf.md

export const GGUF_ALIGNMENT = 32

const GGUF_MAGIC = 0x46554747 // 'GGUF' read as a little-endian uint32
const GGUF_VERSION = 3
// ggml keeps tensor names in a fixed char[64] including the terminating NUL.
const GGML_MAX_NAME_BYTES = 63
const Q8_0_BLOCK = 32
const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK
// block_q4_K (ggml-common.h): f16 d, f16 dmin, 12 bytes of 6-bit scales and mins, 128 bytes of 4-bit quants.
const QK_K = 256
const Q4_K_BLOCK_BYTES = 2 + 2 + 12 + QK_K / 2

export const GGUF_VALUE_TYPE = {
  uint8: 0,
  int8: 1,
  uint16: 2,
  int16: 3,
  uint32: 4,
  int32: 5,
  float32: 6,
  bool: 7,
  string: 8,
  array: 9,
  uint64: 10,
  int64: 11,
  float64: 12,
} as const

export type GgufScalarType = Exclude<keyof typeof GGUF_VALUE_TYPE, 'array'>

/** The JS type that carries each GGUF scalar type. */
export interface GgufScalarValue {
  uint8: number
  int8: number
  uint16: number
  int16: number
  uint32: number
  int32: number
  float32: number
  float64: number
  uint64: bigint
  int64: bigint
  bool: boolean
  string: string
}

export type GgufScalar = {[T in GgufScalarType]: {type: T, value: GgufScalarValue[T]}}[GgufScalarType]
export type GgufArray = {[T in GgufScalarType]: {type: 'array', itemType: T, values: ArrayLike<GgufScalarValue[T]>}}[GgufScalarType]
export type GgufValue = GgufScalar | GgufArray

/** Ordered key/value pairs: GGUF keeps the order they are written in. */
export type GgufMetadata = ReadonlyArray<readonly [key: string, value: GgufValue]>

/** Constructors for typed metadata values, e.g. `['llama.block_count', meta.u32(8)]`. */
export const meta = {
  u8: (value: number): GgufValue => ({type: 'uint8', value}),
  i8: (value: number): GgufValue => ({type: 'int8', value}),
  u16: (value: number): GgufValue => ({type: 'uint16', value}),
  i16: (value: number): GgufValue => ({type: 'int16', value}),
  u32: (value: number): GgufValue => ({type: 'uint32', value}),
  i32: (value: number): GgufValue => ({type: 'int32', value}),
  f32: (value: number): GgufValue => ({type: 'float32', value}),
  f64: (value: number): GgufValue => ({type: 'float64', value}),
  u64: (value: bigint | number): GgufValue => ({type: 'uint64', value: BigInt(value)}),
  i64: (value: bigint | number): GgufValue => ({type: 'int64', value: BigInt(value)}),
  bool: (value: boolean): GgufValue => ({type: 'bool', value}),
  str: (value: string): GgufValue => ({type: 'string', value}),
  arr: <T extends GgufScalarType>(itemType: T, values: ArrayLike<GgufScalarValue[T]>): GgufValue =>
    ({type: 'array', itemType, values} as GgufArray),
}

export const GGML_TYPE_ID = {F32: 0, F16: 1, Q8_0: 8, Q4_K: 12} as const
export type GgmlTensorType = keyof typeof GGML_TYPE_ID

export interface GgufTensor {
  name: string
  /** ne[0] first: the fastest-varying dimension, i.e. the row length. */
  dims: readonly number[]
  type: GgmlTensorType
  /**
   * Values in row-major order (ne[0] fastest). A function is called once, while the file is written, so a
   * large tensor never needs to exist in memory all at once; each chunk must hold whole blocks (32 values for Q8_0,
   * 256 for Q4_K).
   */
  data: Float32Array | (() => Iterable<Float32Array>)
}

export interface GgufFile {
  metadata: GgufMetadata
  tensors: readonly GgufTensor[]
}

export interface GgufWriteResult {
  bytes: number
  sha256: string
}

const INT_RANGES: Partial<Record<GgufScalarType, readonly [number, number]>> = {
  uint8: [0, 0xff],
  int8: [-0x80, 0x7f],
  uint16: [0, 0xffff],
  int16: [-0x8000, 0x7fff],
  uint32: [0, 0xffffffff],
  int32: [-0x80000000, 0x7fffffff],
}

const f32Scratch = new Float32Array(1)
const u32Scratch = new Uint32Array(f32Scratch.buffer)

/** IEEE binary16 bits of a value, rounded to nearest-even from its float32 value (as ggml converts). */
export function f32ToF16(value: number): number {
  f32Scratch[0] = value
  const x = u32Scratch[0] ?? 0
  const sign = (x >>> 16) & 0x8000
  const exp = (x >>> 23) & 0xff
  const mant = x & 0x7fffff
  if (exp === 0xff) return sign | 0x7c00 | (mant === 0 ? 0 : 0x200)
  const halfExp = exp - 127 + 15
  if (halfExp >= 0x1f) return sign | 0x7c00
  if (halfExp <= 0) {
    // Below 2^-25 even rounding up cannot reach the smallest subnormal (2^-24).
    if (halfExp < -10) return sign
    const full = mant | 0x800000
    const shift = 14 - halfExp
    const kept = full >>> shift
    const rest = full & ((1 << shift) - 1)
    const halfway = 1 << (shift - 1)
    const roundUp = rest > halfway || (rest === halfway && (kept & 1) === 1)
    // A carry out of the mantissa lands on the smallest normal, which is the right answer.
    return sign | (kept + (roundUp ? 1 : 0))
  }
  const kept = (halfExp << 10) | (mant >>> 13)
  const rest = mant & 0x1fff
  const roundUp = rest > 0x1000 || (rest === 0x1000 && (kept & 1) === 1)
  // A carry into the exponent is correct too, up to and including overflow to infinity (0x7c00).
  return sign | (kept + (roundUp ? 1 : 0))
}

/** Bytes a tensor's data takes, before alignment padding. */
export function tensorDataBytes(type: GgmlTensorType, elements: number): number {
  switch (type) {
    case 'F32': return elements * 4
    case 'F16': return elements * 2
    case 'Q8_0': return (elements / Q8_0_BLOCK) * Q8_0_BLOCK_BYTES
    case 'Q4_K': return (elements / QK_K) * Q4_K_BLOCK_BYTES
  }
}

/** Values per quantization block: a row length must be a multiple of it. */
export function blockSize(type: GgmlTensorType): number {
  return type === 'Q8_0' ? Q8_0_BLOCK : type === 'Q4_K' ? QK_K : 1
}

/**
 * Q8_0 blocks for values whose length is a multiple of 32. Follows ggml's quantize_row_q8_0_ref step by step in
 * float32 (scale d = amax/127, multiply by 1/d, round half away from zero), so a file matches what ggml would make.
 */
export function quantizeQ8_0(values: Float32Array, out?: Uint8Array, outOffset = 0): Uint8Array {
  if (values.length % Q8_0_BLOCK !== 0) {
    throw new Error(`Q8_0 needs whole blocks of ${Q8_0_BLOCK} values, got ${values.length}`)
  }
  const blocks = values.length / Q8_0_BLOCK
  const target = out ?? new Uint8Array(blocks * Q8_0_BLOCK_BYTES)
  const view = new DataView(target.buffer, target.byteOffset, target.byteLength)
  for (let b = 0; b < blocks; b++) {
    const start = b * Q8_0_BLOCK
    let amax = 0
    for (let j = 0; j < Q8_0_BLOCK; j++) amax = Math.max(amax, Math.abs(values[start + j] ?? 0))
    const d = Math.fround(amax / 127)
    const id = d === 0 ? 0 : Math.fround(1 / d)
    const at = outOffset + b * Q8_0_BLOCK_BYTES
    view.setUint16(at, f32ToF16(d), true)
    for (let j = 0; j < Q8_0_BLOCK; j++) {
      const scaled = Math.fround((values[start + j] ?? 0) * id)
      // roundf rounds halves away from zero; Math.round would not for negative halves.
      const q = Math.sign(scaled) * Math.round(Math.abs(scaled))
      view.setInt8(at + 2 + j, q)
    }
  }
  return target
}

/**
 * Q4_K super-blocks of 256 values (8 sub-blocks of 32), packed exactly as ggml's quantize_row_q4_K_ref packs them:
 * 6-bit sub-block scales and mins under f16 super-block factors d and dmin, 4-bit quants, value = d·sc·q − dmin·m.
 * Each sub-block's scale and min are the plain min/max fit (the starting point of ggml's make_qkx2_quants, without
 * its 20-step refinement), so the file is a valid Q4_K model that ggml's Q4_K kernels compute on, not a byte-for-byte
 * copy of what llama-quantize would make from the same floats.
 */
export function quantizeQ4_K(values: Float32Array): Uint8Array {
  if (values.length % QK_K !== 0) throw new Error(`Q4_K needs whole blocks of ${QK_K} values, got ${values.length}`)
  const blocks = values.length / QK_K
  const out = new Uint8Array(blocks * Q4_K_BLOCK_BYTES)
  const view = new DataView(out.buffer)
  const scales = new Float32Array(8)
  const mins = new Float32Array(8)
  const levels = new Uint8Array(QK_K)
  for (let b = 0; b < blocks; b++) {
    const x = values.subarray(b * QK_K, (b + 1) * QK_K)
    let maxScale = 0
    let maxMin = 0
    for (let j = 0; j < 8; j++) {
      let min = x[32 * j] ?? 0
      let max = min
      for (let l = 1; l < 32; l++) {
        const v = x[32 * j + l] ?? 0
        if (v < min) min = v
        if (v > max) max = v
      }
      if (min > 0) min = 0
      scales[j] = max === min ? 0 : Math.fround((max - min) / 15)
      mins[j] = -min
      maxScale = Math.max(maxScale, scales[j]!)
      maxMin = Math.max(maxMin, mins[j]!)
    }
    const at = b * Q4_K_BLOCK_BYTES
    const packed = out.subarray(at + 4, at + 16)
    const invScale = maxScale > 0 ? 63 / maxScale : 0
    const invMin = maxMin > 0 ? 63 / maxMin : 0
    const sc = new Uint8Array(8)
    const m = new Uint8Array(8)
    for (let j = 0; j < 8; j++) {
      sc[j] = Math.min(63, nearestInt(invScale * scales[j]!))
      m[j] = Math.min(63, nearestInt(invMin * mins[j]!))
      if (j < 4) {
        packed[j] = sc[j]!
        packed[j + 4] = m[j]!
      } else {
        packed[j + 4] = (sc[j]! & 0xf) | ((m[j]! & 0xf) << 4)
        packed[j - 4]! |= (sc[j]! >> 4) << 6
        packed[j]! |= (m[j]! >> 4) << 6
      }
    }
    const dBits = f32ToF16(maxScale / 63)
    const dminBits = f32ToF16(maxMin / 63)
    view.setUint16(at, dBits, true)
    view.setUint16(at + 2, dminBits, true)
    // The quants are chosen against the rounded factors, as ggml does.
    const d = f16ToF32(dBits)
    const dmin = f16ToF32(dminBits)
    for (let j = 0; j < 8; j++) {
      const scale = Math.fround(d * sc[j]!)
      const offset = Math.fround(dmin * m[j]!)
      for (let l = 0; l < 32; l++) {
        levels[32 * j + l] = scale === 0 ? 0 : Math.max(0, Math.min(15, nearestInt(((x[32 * j + l] ?? 0) + offset) / scale)))
      }
    }
    // Each 64-value half-chunk shares 32 bytes: low nibbles hold its first 32 values, high nibbles the next 32.
    for (let chunk = 0; chunk < 4; chunk++) {
      for (let l = 0; l < 32; l++) out[at + 16 + chunk * 32 + l] = levels[chunk * 64 + l]! | (levels[chunk * 64 + l + 32]! << 4)
    }
  }
  return out
}

/** The dequantized values of Q4_K blocks (ggml's dequantize_row_q4_K), for checking an encoding. */
export function dequantizeQ4_K(data: Uint8Array): Float32Array {
  const blocks = data.length / Q4_K_BLOCK_BYTES
  const out = new Float32Array(blocks * QK_K)
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  for (let b = 0; b < blocks; b++) {
    const at = b * Q4_K_BLOCK_BYTES
    const d = f16ToF32(view.getUint16(at, true))
    const dmin = f16ToF32(view.getUint16(at + 2, true))
    const q = data.subarray(at + 4, at + 16)
    for (let j = 0; j < 8; j++) {
      const sc = j < 4 ? q[j]! & 63 : (q[j + 4]! & 0xf) | ((q[j - 4]! >> 6) << 4)
      const m = j < 4 ? q[j + 4]! & 63 : (q[j + 4]! >> 4) | ((q[j]! >> 6) << 4)
      const chunk = Math.floor(j / 2)
      for (let l = 0; l < 32; l++) {
        const byte = data[at + 16 + chunk * 32 + l]!
        const level = j % 2 === 0 ? byte & 0xf : byte >> 4
        out[b * QK_K + 32 * j + l] = d * sc * level - dmin * m
      }
    }
  }
  return out
}

/** C's nearest_int as ggml uses it: round half away from zero. */
function nearestInt(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x))
}

/** IEEE binary16 bits to the number they encode. */
export function f16ToF32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1
  const exp = (bits >> 10) & 0x1f
  const mant = bits & 0x3ff
  if (exp === 0) return sign * mant * 2 ** -24
  if (exp === 0x1f) return mant === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN
  return sign * (1 + mant / 1024) * 2 ** (exp - 15)
}

/** Writes a GGUF file via a temporary file and a rename, so the final path only ever holds a complete file. */
export async function writeGguf(filePath: string, file: GgufFile): Promise<GgufWriteResult> {
  const layout = planTensors(file.tensors)
  const header = encodeHeader(file.metadata, layout)
  await fs.mkdir(path.dirname(filePath), {recursive: true})
  const tempPath = `${filePath}.${process.pid}-${randomBytes(6).toString('hex')}.tmp`
  const handle = await fs.open(tempPath, 'wx')
  try {
    const sink = new HashingSink(handle)
    await sink.write(header)
    await sink.pad(GGUF_ALIGNMENT)
    for (const {tensor, elements} of layout) {
      await writeTensorData(sink, tensor, elements)
      await sink.pad(GGUF_ALIGNMENT)
    }
    await sink.flush()
    await handle.sync()
    await handle.close()
    await fs.rename(tempPath, filePath)
    return {bytes: sink.bytes, sha256: sink.digest()}
  } catch (error) {
    await handle.close().catch(() => undefined)
    await fs.rm(tempPath, {force: true})
    throw error
  }
}

interface PlannedTensor {
  tensor: GgufTensor
  elements: number
  offset: number
}

function planTensors(tensors: readonly GgufTensor[]): PlannedTensor[] {
  const names = new Set<string>()
  let offset = 0
  return tensors.map(tensor => {
    if (names.has(tensor.name)) throw new Error(`duplicate tensor name ${tensor.name}`)
    names.add(tensor.name)
    if (Buffer.byteLength(tensor.name) > GGML_MAX_NAME_BYTES) {
      throw new Error(`tensor name longer than ${GGML_MAX_NAME_BYTES} bytes: ${tensor.name}`)
    }
    if (tensor.dims.length < 1 || tensor.dims.length > 4) throw new Error(`tensor ${tensor.name}: 1 to 4 dims, got ${tensor.dims.length}`)
    for (const dim of tensor.dims) {
      if (!Number.isSafeInteger(dim) || dim < 1) throw new Error(`tensor ${tensor.name}: bad dimension ${dim}`)
    }
    if (!(tensor.type in GGML_TYPE_ID)) throw new Error(`tensor ${tensor.name}: unsupported type ${String(tensor.type)}`)
    const rowLength = tensor.dims[0] ?? 0
    if (rowLength % blockSize(tensor.type) !== 0) {
      throw new Error(`tensor ${tensor.name}: ${tensor.type} needs ne[0] to be a multiple of ${blockSize(tensor.type)}, got ${rowLength}`)
    }
    const elements = tensor.dims.reduce((a, b) => a * b, 1)
    const planned = {tensor, elements, offset}
    offset = alignUp(offset + tensorDataBytes(tensor.type, elements), GGUF_ALIGNMENT)
    return planned
  })
}

function encodeHeader(metadata: GgufMetadata, layout: readonly PlannedTensor[]): Buffer {
  const keys = new Set<string>()
  for (const [key] of metadata) {
    if (key === 'general.alignment') throw new Error('general.alignment is set by the writer')
    if (key.length === 0) throw new Error('empty metadata key')
    if (keys.has(key)) throw new Error(`duplicate metadata key ${key}`)
    keys.add(key)
  }
  const out = new ByteWriter()
  out.u32(GGUF_MAGIC)
  out.u32(GGUF_VERSION)
  out.u64(BigInt(layout.length))
  out.u64(BigInt(metadata.length + 1))
  out.string('general.alignment')
  out.u32(GGUF_VALUE_TYPE.uint32)
  out.u32(GGUF_ALIGNMENT)
  for (const [key, value] of metadata) {
    out.string(key)
    out.u32(GGUF_VALUE_TYPE[value.type])
    if (value.type === 'array') {
      out.u32(GGUF_VALUE_TYPE[value.itemType])
      out.u64(BigInt(value.values.length))
      for (let i = 0; i < value.values.length; i++) writeScalar(out, value.itemType, value.values[i], key)
    } else {
      writeScalar(out, value.type, value.value, key)
    }
  }
  for (const {tensor, offset} of layout) {
    out.string(tensor.name)
    out.u32(tensor.dims.length)
    for (const dim of tensor.dims) out.u64(BigInt(dim))
    out.u32(GGML_TYPE_ID[tensor.type])
    out.u64(BigInt(offset))
  }
  return out.toBuffer()
}

function writeScalar(out: ByteWriter, type: GgufScalarType, value: unknown, key: string): void {
  const fail = (): never => {
    throw new Error(`metadata ${key}: ${String(value)} is not a valid ${type}`)
  }
  const range = INT_RANGES[type]
  if (range) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < range[0] || value > range[1]) fail()
  }
  switch (type) {
    case 'uint8': out.u8(value as number); return
    case 'int8': out.i8(value as number); return
    case 'uint16': out.u16(value as number); return
    case 'int16': out.i16(value as number); return
    case 'uint32': out.u32(value as number); return
    case 'int32': out.i32(value as number); return
    case 'float32': if (typeof value !== 'number') fail(); out.f32(value as number); return
    case 'float64': if (typeof value !== 'number') fail(); out.f64(value as number); return
    case 'bool': if (typeof value !== 'boolean') fail(); out.u8(value ? 1 : 0); return
    case 'string': if (typeof value !== 'string') fail(); out.string(value as string); return
    case 'uint64':
      if (typeof value !== 'bigint' || value < 0n || value >= 1n << 64n) fail()
      out.u64(value as bigint)
      return
    case 'int64':
      if (typeof value !== 'bigint' || value < -(1n << 63n) || value >= 1n << 63n) fail()
      out.i64(value as bigint)
      return
  }
}

async function writeTensorData(sink: HashingSink, tensor: GgufTensor, elements: number): Promise<void> {
  const chunks = tensor.data instanceof Float32Array ? [tensor.data] : tensor.data()
  let written = 0
  for (const chunk of chunks) {
    written += chunk.length
    if (written > elements) break
    await sink.write(encodeChunk(tensor, chunk))
  }
  if (written !== elements) {
    throw new Error(`tensor ${tensor.name}: dims say ${elements} values, data gave ${written > elements ? 'more' : written}`)
  }
}

const littleEndianHost = os.endianness() === 'LE'

function encodeChunk(tensor: GgufTensor, chunk: Float32Array): Uint8Array {
  switch (tensor.type) {
    case 'F32': {
      if (littleEndianHost) return new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength)
      const out = Buffer.alloc(chunk.length * 4)
      for (let i = 0; i < chunk.length; i++) out.writeFloatLE(chunk[i] ?? 0, i * 4)
      return out
    }
    case 'F16': {
      const out = Buffer.alloc(chunk.length * 2)
      for (let i = 0; i < chunk.length; i++) out.writeUInt16LE(f32ToF16(chunk[i] ?? 0), i * 2)
      return out
    }
    case 'Q8_0':
      if (chunk.length % Q8_0_BLOCK !== 0) {
        throw new Error(`tensor ${tensor.name}: Q8_0 data chunks must hold whole ${Q8_0_BLOCK}-value blocks, got ${chunk.length}`)
      }
      return quantizeQ8_0(chunk)
    case 'Q4_K':
      if (chunk.length % QK_K !== 0) {
        throw new Error(`tensor ${tensor.name}: Q4_K data chunks must hold whole ${QK_K}-value blocks, got ${chunk.length}`)
      }
      return quantizeQ4_K(chunk)
  }
}

function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment
}

/** Growable little-endian buffer for the header, which is small enough to build in memory. */
class ByteWriter {
  private buffer = Buffer.alloc(64 * 1024)
  private length = 0

  private reserve(n: number): number {
    if (this.length + n > this.buffer.length) {
      const grown = Buffer.alloc(Math.max(this.buffer.length * 2, this.length + n))
      this.buffer.copy(grown, 0, 0, this.length)
      this.buffer = grown
    }
    const at = this.length
    this.length += n
    return at
  }

  // reserve() may swap in a bigger buffer, so it has to run before this.buffer is read.
  u8(v: number): void { const at = this.reserve(1); this.buffer.writeUInt8(v, at) }
  i8(v: number): void { const at = this.reserve(1); this.buffer.writeInt8(v, at) }
  u16(v: number): void { const at = this.reserve(2); this.buffer.writeUInt16LE(v, at) }
  i16(v: number): void { const at = this.reserve(2); this.buffer.writeInt16LE(v, at) }
  u32(v: number): void { const at = this.reserve(4); this.buffer.writeUInt32LE(v, at) }
  i32(v: number): void { const at = this.reserve(4); this.buffer.writeInt32LE(v, at) }
  f32(v: number): void { const at = this.reserve(4); this.buffer.writeFloatLE(v, at) }
  f64(v: number): void { const at = this.reserve(8); this.buffer.writeDoubleLE(v, at) }
  u64(v: bigint): void { const at = this.reserve(8); this.buffer.writeBigUInt64LE(v, at) }
  i64(v: bigint): void { const at = this.reserve(8); this.buffer.writeBigInt64LE(v, at) }

  string(s: string): void {
    const bytes = Buffer.from(s, 'utf8')
    this.u64(BigInt(bytes.length))
    const at = this.reserve(bytes.length)
    bytes.copy(this.buffer, at)
  }

  toBuffer(): Buffer {
    return this.buffer.subarray(0, this.length)
  }
}

/** Batches small writes into large ones and hashes everything on the way to disk. */
class HashingSink {
  private readonly hash = createHash('sha256')
  private readonly pending = Buffer.alloc(1 << 20)
  private used = 0
  bytes = 0

  constructor(private readonly handle: fs.FileHandle) {}

  async write(data: Uint8Array): Promise<void> {
    this.hash.update(data)
    this.bytes += data.length
    let from = 0
    while (from < data.length) {
      const n = Math.min(this.pending.length - this.used, data.length - from)
      this.pending.set(data.subarray(from, from + n), this.used)
      this.used += n
      from += n
      if (this.used === this.pending.length) await this.flush()
    }
  }

  async pad(alignment: number): Promise<void> {
    const n = alignUp(this.bytes, alignment) - this.bytes
    if (n > 0) await this.write(new Uint8Array(n))
  }

  async flush(): Promise<void> {
    let done = 0
    while (done < this.used) {
      const {bytesWritten} = await this.handle.write(this.pending, done, this.used - done)
      done += bytesWritten
    }
    this.used = 0
  }

  digest(): string {
    return this.hash.digest('hex')
  }
}
