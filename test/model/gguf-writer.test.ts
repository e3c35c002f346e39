import {createHash} from 'node:crypto'
import fs from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import {readGgufFileInfo} from 'node-llama-cpp'
import {afterAll, beforeAll, describe, expect, it} from 'vitest'
import {dequantizeQ4_K, f16ToF32, f32ToF16, GGUF_ALIGNMENT, type GgufMetadata, type GgufTensor, meta, quantizeQ4_K, quantizeQ8_0, tensorDataBytes, writeGguf} from '../../src/model/gguf-writer.js'

let dir: string

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(os.tmpdir(), 'owbench-gguf-'))
})

afterAll(async () => {
  await fs.rm(dir, {recursive: true, force: true})
})

const metadata: GgufMetadata = [
  ['general.architecture', meta.str('llama')],
  ['test.u8', meta.u8(255)],
  ['test.i8', meta.i8(-128)],
  ['test.u16', meta.u16(65535)],
  ['test.i16', meta.i16(-32768)],
  ['test.u32', meta.u32(4294967295)],
  ['test.i32', meta.i32(-2147483648)],
  ['test.f32', meta.f32(1.5)],
  ['test.bool_true', meta.bool(true)],
  ['test.bool_false', meta.bool(false)],
  ['test.str', meta.str('h\u00e9llo \u2581world')],
  ['test.u64', meta.u64(2n ** 64n - 1n)],
  ['test.i64', meta.i64(-(2n ** 63n))],
  ['test.f64', meta.f64(Math.PI)],
  ['test.arr_str', meta.arr('string', ['a', '', '\u2581b'])],
  ['test.arr_i32', meta.arr('int32', Int32Array.from([1, -2, 3]))],
  ['test.arr_f32', meta.arr('float32', new Float32Array([0.25, -8]))],
  ['test.arr_u64', meta.arr('uint64', [1n, 2n ** 40n])],
  ['test.arr_bool', meta.arr('bool', [true, false])],
  ['test.arr_empty', meta.arr('uint8', [])],
]

const f32Values = Float32Array.from({length: 64 * 2}, (_, i) => i / 8 - 3)
const f16Values = new Float32Array([1, -2, 65504])
const q8Values = Float32Array.from({length: 64}, (_, i) => Math.sin(i))

function* inChunks(values: Float32Array, size: number): Generator<Float32Array> {
  for (let i = 0; i < values.length; i += size) yield values.subarray(i, i + size)
}

const tensors: GgufTensor[] = [
  {name: 'a.f32', dims: [64, 2], type: 'F32', data: f32Values},
  {name: 'b.f16', dims: [3], type: 'F16', data: f16Values},
  {name: 'c.q8', dims: [32, 2], type: 'Q8_0', data: () => inChunks(q8Values, 32)},
]

describe('writeGguf', () => {
  it('writes metadata and tensors that node-llama-cpp reads back', async () => {
    const file = path.join(dir, 'all-types.gguf')
    const result = await writeGguf(file, {metadata, tensors})
    const bytes = await fs.readFile(file)
    expect(result.bytes).toBe(bytes.length)
    expect(result.sha256).toBe(createHash('sha256').update(bytes).digest('hex'))
    expect(bytes.subarray(0, 4).toString('latin1')).toBe('GGUF')
    expect(bytes.readUInt32LE(4)).toBe(3)
    expect(bytes.length % GGUF_ALIGNMENT).toBe(0)

    const info = await readGgufFileInfo(file, {logWarnings: false})
    expect(info.version).toBe(3)
    expect(Number(info.tensorCount)).toBe(3)
    const m = info.metadata as unknown as Record<string, Record<string, unknown>>
    expect(m.general?.alignment).toBe(32)
    expect(m.general?.architecture).toBe('llama')
    expect(m.test).toEqual({
      u8: 255,
      i8: -128,
      u16: 65535,
      i16: -32768,
      u32: 4294967295,
      i32: -2147483648,
      f32: 1.5,
      bool_true: true,
      bool_false: false,
      str: 'h\u00e9llo \u2581world',
      u64: 2n ** 64n - 1n,
      i64: -(2n ** 63n),
      f64: Math.PI,
      arr_str: ['a', '', '\u2581b'],
      arr_i32: [1, -2, 3],
      arr_f32: [0.25, -8],
      arr_u64: [1n, 2n ** 40n],
      arr_bool: [true, false],
      arr_empty: [],
    })

    const tensorInfo = info.tensorInfo ?? []
    expect(tensorInfo.map(t => ({name: t.name, dims: t.dimensions.map(Number), type: t.ggmlType, offset: Number(t.offset)}))).toEqual([
      {name: 'a.f32', dims: [64, 2], type: 0, offset: 0},
      // 512 bytes of F32, already aligned
      {name: 'b.f16', dims: [3], type: 1, offset: 512},
      // 6 bytes of F16 padded to 32
      {name: 'c.q8', dims: [32, 2], type: 8, offset: 544},
    ])
    for (const t of tensorInfo) expect(Number(t.fileOffset) % GGUF_ALIGNMENT).toBe(0)

    const at = (name: string): number => Number(tensorInfo.find(t => t.name === name)?.fileOffset)
    const f32Back = new Float32Array(bytes.buffer.slice(bytes.byteOffset + at('a.f32'), bytes.byteOffset + at('a.f32') + 512))
    expect(Array.from(f32Back)).toEqual(Array.from(f32Values))
    expect([0, 1, 2].map(i => bytes.readUInt16LE(at('b.f16') + i * 2))).toEqual([0x3c00, 0xc000, 0x7bff])
    // F16 padding is zeros up to the next tensor.
    expect([...bytes.subarray(at('b.f16') + 6, at('c.q8'))].every(b => b === 0)).toBe(true)
    expect(Buffer.from(bytes.subarray(at('c.q8'), at('c.q8') + 68))).toEqual(Buffer.from(quantizeQ8_0(q8Values)))
  })

  it('writes the same bytes for the same input', async () => {
    const a = await writeGguf(path.join(dir, 'same-a.gguf'), {metadata, tensors})
    const b = await writeGguf(path.join(dir, 'same-b.gguf'), {metadata, tensors})
    expect(a).toEqual(b)
  })

  it('rejects Q8_0 rows that are not whole blocks, leaving no file behind', async () => {
    const file = path.join(dir, 'bad-q8.gguf')
    await expect(writeGguf(file, {metadata: [], tensors: [{name: 'x', dims: [48, 2], type: 'Q8_0', data: new Float32Array(96)}]}))
      .rejects.toThrow(/multiple of 32/)
    await expect(fs.access(file)).rejects.toThrow()
  })

  it('leaves neither the final file nor a temp file when tensor data fails midway', async () => {
    const sub = await fs.mkdtemp(path.join(dir, 'crash-'))
    const file = path.join(sub, 'crash.gguf')
    const failing: GgufTensor = {
      name: 'x', dims: [32, 4], type: 'F32',
      data: function* () {
        yield new Float32Array(32)
        throw new Error('generator died')
      },
    }
    await expect(writeGguf(file, {metadata: [], tensors: [failing]})).rejects.toThrow('generator died')
    expect(await fs.readdir(sub)).toEqual([])
  })

  it('rejects data that does not match the dims', async () => {
    const file = path.join(dir, 'short.gguf')
    await expect(writeGguf(file, {metadata: [], tensors: [{name: 'x', dims: [4, 4], type: 'F32', data: new Float32Array(15)}]}))
      .rejects.toThrow(/16 values/)
    await expect(writeGguf(file, {metadata: [], tensors: [{name: 'x', dims: [4, 4], type: 'F32', data: new Float32Array(17)}]}))
      .rejects.toThrow(/16 values/)
  })

  it('rejects invalid metadata', async () => {
    const file = path.join(dir, 'bad-meta.gguf')
    await expect(writeGguf(file, {metadata: [['x', meta.u8(256)]], tensors: []})).rejects.toThrow(/not a valid uint8/)
    await expect(writeGguf(file, {metadata: [['x', meta.i32(1.5)]], tensors: []})).rejects.toThrow(/not a valid int32/)
    await expect(writeGguf(file, {metadata: [['x', meta.u64(-1)]], tensors: []})).rejects.toThrow(/not a valid uint64/)
    await expect(writeGguf(file, {metadata: [['x', meta.u8(1)], ['x', meta.u8(2)]], tensors: []})).rejects.toThrow(/duplicate/)
    await expect(writeGguf(file, {metadata: [['general.alignment', meta.u32(64)]], tensors: []})).rejects.toThrow(/alignment/)
  })
})

describe('f32ToF16', () => {
  it('converts exact values', () => {
    expect(f32ToF16(1)).toBe(0x3c00)
    expect(f32ToF16(-2)).toBe(0xc000)
    expect(f32ToF16(0.5)).toBe(0x3800)
    expect(f32ToF16(65504)).toBe(0x7bff)
    expect(f32ToF16(0)).toBe(0x0000)
    expect(f32ToF16(-0)).toBe(0x8000)
    expect(f32ToF16(2 ** -14)).toBe(0x0400) // smallest normal
    expect(f32ToF16(2 ** -24)).toBe(0x0001) // smallest subnormal
    expect(f32ToF16(Infinity)).toBe(0x7c00)
    expect(f32ToF16(-Infinity)).toBe(0xfc00)
    expect(f32ToF16(NaN) & 0x7c00).toBe(0x7c00)
    expect(f32ToF16(NaN) & 0x03ff).not.toBe(0)
  })

  it('rounds to nearest, ties to even', () => {
    expect(f32ToF16(1 + 2 ** -11)).toBe(0x3c00) // halfway between 0x3c00 and 0x3c01: even is 0x3c00
    expect(f32ToF16(1 + 3 * 2 ** -11)).toBe(0x3c02) // halfway between 0x3c01 and 0x3c02: even is 0x3c02
    expect(f32ToF16(1 + 2 ** -11 + 2 ** -20)).toBe(0x3c01) // just above halfway
    expect(f32ToF16(65519)).toBe(0x7bff)
    expect(f32ToF16(65520)).toBe(0x7c00) // halfway to 65536, which rounds to infinity
    expect(f32ToF16(1e6)).toBe(0x7c00)
    expect(f32ToF16(1e-8)).toBe(0x0000) // below half the smallest subnormal
    expect(f32ToF16(-1e-8)).toBe(0x8000)
    expect(f32ToF16(2 ** -25)).toBe(0x0000) // exactly half the smallest subnormal: ties to even (zero)
    expect(f32ToF16(1.5 * 2 ** -25)).toBe(0x0001)
    expect(f32ToF16(3 * 2 ** -25)).toBe(0x0002) // 1.5 subnormal steps: ties to even
    expect(f32ToF16(2 ** -14 - 2 ** -26)).toBe(0x0400) // rounds up out of the subnormals into the smallest normal
    expect(f32ToF16(0.1)).toBe(0x2e66)
  })
})

describe('quantizeQ8_0', () => {
  it('encodes a hand-computed block', () => {
    // amax 127 gives d = 1 exactly, so q is x rounded half away from zero (ggml uses roundf).
    const block = new Float32Array(32)
    block.set([-127, 127, 0.5, -0.5, 1.5, -1.5, 2.4, -2.6, 100.49, -3])
    const expected = Buffer.alloc(34)
    expected.writeUInt16LE(0x3c00, 0)
    ;[-127, 127, 1, -1, 2, -2, 2, -3, 100, -3].forEach((q, j) => expected.writeInt8(q, 2 + j))
    expect(Buffer.from(quantizeQ8_0(block))).toEqual(expected)

    // The same block halved: d = 0.5 (0x3800), same q.
    const halved = Buffer.from(expected)
    halved.writeUInt16LE(0x3800, 0)
    expect(Buffer.from(quantizeQ8_0(block.map(x => x / 2)))).toEqual(halved)
  })

  it('encodes an all-zero block with a zero scale', () => {
    expect(Buffer.from(quantizeQ8_0(new Float32Array(32)))).toEqual(Buffer.alloc(34))
  })

  it('throws on a partial block', () => {
    expect(() => quantizeQ8_0(new Float32Array(33))).toThrow(/blocks of 32/)
  })

  it('sizes tensors', () => {
    expect(tensorDataBytes('F32', 64)).toBe(256)
    expect(tensorDataBytes('F16', 64)).toBe(128)
    expect(tensorDataBytes('Q8_0', 64)).toBe(68)
  })
})

describe('quantizeQ4_K', () => {
  // Every 32-value sub-block runs over 16 levels 0.5 apart from -2: min -2, max 5.5, so each sub-block's scale is
  // 7.5 / 15 = 0.5 and its min 2; both are the largest, so every 6-bit scale and min is 63.
  const block = Float32Array.from({length: 256}, (_, i) => (i % 16) * 0.5 - 2)

  it('packs a hand-computed block the way ggml does', () => {
    const bytes = quantizeQ4_K(block)
    expect(bytes.length).toBe(144)
    const view = new DataView(bytes.buffer)
    expect(view.getUint16(0, true)).toBe(f32ToF16(0.5 / 63))
    expect(view.getUint16(2, true)).toBe(f32ToF16(2 / 63))
    // Scales 0-3 and mins 0-3 are 63 in the low 6 bits; the high 2 bits of each carry the top bits of scales/mins
    // 4-7 (63 >> 4 = 3); bytes 8-11 hold their low nibbles (0xf | 0xf << 4).
    expect([...bytes.subarray(4, 16)]).toEqual(Array(12).fill(0xff))
    // Level of value l is l % 16 (0.5 steps from -2); byte l of each 32-byte chunk holds value l (low nibble) and
    // value l + 32 (high nibble), which have the same level.
    const quants = [...bytes.subarray(16)]
    expect(quants).toEqual(Array.from({length: 128}, (_, i) => (i % 16) * 17))
  })

  it('dequantizes back to the values within the f16 rounding of its factors', () => {
    const back = dequantizeQ4_K(quantizeQ4_K(block))
    // d·63 = f16(0.5/63)·63 and dmin·63 = f16(2/63)·63 differ from 0.5 and 2 by under 1e-3.
    for (let i = 0; i < 256; i++) expect(Math.abs(back[i]! - block[i]!)).toBeLessThan(0.01)
    const random = Float32Array.from({length: 512}, (_, i) => Math.sin(i * 1.7) * 0.3)
    const err = dequantizeQ4_K(quantizeQ4_K(random)).reduce((worst, v, i) => Math.max(worst, Math.abs(v - random[i]!)), 0)
    // A 4-bit level step of a sub-block spanning at most 0.6 is 0.04, plus the 6-bit scale rounding.
    expect(err).toBeLessThan(0.04)
  })

  it('reads f16 bits back', () => {
    expect(f16ToF32(0x3c00)).toBe(1)
    expect(f16ToF32(0x3800)).toBe(0.5)
    expect(f16ToF32(0xc000)).toBe(-2)
    expect(f16ToF32(0x0001)).toBe(2 ** -24)
  })

  it('refuses a partial block and sizes tensors', () => {
    expect(() => quantizeQ4_K(new Float32Array(255))).toThrow(/blocks of 256/)
    expect(tensorDataBytes('Q4_K', 512)).toBe(288)
  })
})
