/**
 * Writing the protobuf wire format straight from proto-loader's objects, for the encoders of the messages whose
 * encoding matters for speed (src/suggestion/request-encoder.ts, src/suggestion/reply-encoder.ts): in field-number
 * order, leaving out proto3 defaults (empty strings, zeros) as protobuf's own encoders do.
 */
import type { PbSetting } from './wire.js';

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LEN = 2;

/** Strings up to this many UTF-16 units are tried as ASCII first (see WireWriter.ascii). */
const ASCII_INLINE_MAX = 64;

/** Node's Buffer with the method behind write(…, 'utf8'), present since Node 0.x but not in @types/node. */
type NodeBuffer = Buffer & { utf8Write(text: string, offset: number): number };

/** Appends protobuf fields to a growing buffer; a nested message's length is written once the message is done. */
export class WireWriter {
  private buf: NodeBuffer;
  private pos = 0;

  /** `capacity`: the bytes to start with (the buffer doubles as needed). */
  constructor(capacity = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(capacity) as NodeBuffer;
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + extra)) as NodeBuffer;
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** A varint of a non-negative integer below 2³², or of a negative int32 (ten bytes, sign-extended, as protobuf). */
  private varint(value: number): void {
    this.ensure(10);
    const buf = this.buf;
    if (value < 0) {
      let lo = value >>> 0;
      for (let i = 0; i < 4; i++) {
        buf[this.pos++] = (lo & 0x7f) | 0x80;
        lo >>>= 7;
      }
      // Bits 28-31 of the low word, then the high word's 32 ones, then the tenth byte's final bit.
      buf[this.pos++] = (lo & 0x0f) | 0x70 | 0x80;
      for (let i = 0; i < 4; i++) buf[this.pos++] = 0xff;
      buf[this.pos++] = 0x01;
      return;
    }
    while (value >= 0x80) {
      buf[this.pos++] = (value & 0x7f) | 0x80;
      value >>>= 7;
    }
    buf[this.pos++] = value;
  }

  private tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  /** A string field; '' is left out unless `always` (an element of a repeated field or a map entry). */
  string(field: number, text: string | undefined, always = false): void {
    const s = text ?? '';
    if (s === '' && !always) return;
    this.tag(field, WIRE_LEN);
    this.ensure(5 + s.length * 3);
    const start = this.pos;
    this.pos += 1;
    const written = s.length <= ASCII_INLINE_MAX ? this.ascii(s) : -1;
    const length = written >= 0 ? written : this.buf.utf8Write(s, this.pos);
    this.pos += length;
    this.closeLength(start, length);
  }

  /**
   * Writes a short string at `pos` byte by byte if it is all ASCII (its UTF-8 is then its char codes) and returns
   * its length; else returns -1, having written nothing that counts. Names, numbers and dates in a request are
   * short ASCII strings, thousands per request: a call into Node's UTF-8 encoder for each cost more than the copy.
   */
  private ascii(s: string): number {
    const buf = this.buf;
    const at = this.pos;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return -1;
      buf[at + i] = c;
    }
    return s.length;
  }

  int32(field: number, value: number | undefined): void {
    const v = (value ?? 0) | 0;
    if (v === 0) return;
    this.tag(field, WIRE_VARINT);
    this.varint(v);
  }

  double(field: number, value: number | undefined): void {
    const v = value ?? 0;
    if (v === 0 && !Object.is(v, -0)) return;
    this.tag(field, WIRE_FIXED64);
    this.ensure(8);
    this.buf.writeDoubleLE(v, this.pos);
    this.pos += 8;
  }

  /** Starts a nested message in `field`; returns the mark to hand to {@link close}. */
  open(field: number): number {
    this.tag(field, WIRE_LEN);
    this.ensure(1);
    return this.pos++;
  }

  /** Ends the nested message opened at `mark`, writing its length. */
  close(mark: number): void {
    this.closeLength(mark, this.pos - mark - 1);
  }

  /** Writes `length` at `mark`, where one byte was reserved, moving what follows when it needs more. */
  private closeLength(mark: number, length: number): void {
    if (length < 0x80) {
      this.buf[mark] = length;
      return;
    }
    let size = 1;
    for (let l = length; l >= 0x80; l >>>= 7) size++;
    this.ensure(size - 1);
    this.buf.copyWithin(mark + size, mark + 1, this.pos);
    this.pos += size - 1;
    let l = length;
    for (let i = 0; i < size - 1; i++) {
      this.buf[mark + i] = (l & 0x7f) | 0x80;
      l >>>= 7;
    }
    this.buf[mark + size - 1] = l;
  }

  /** A copy of what was written. */
  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}

/** Name-value messages (AlgorithmSetting, ParameterAssignment, Metric: name = 1, value = 2), one per element, in `field`. */
export function writeSettings(w: WireWriter, field: number, settings: readonly PbSetting[] | undefined): void {
  for (const s of settings ?? []) {
    const m = w.open(field);
    w.string(1, s.name);
    w.string(2, s.value);
    w.close(m);
  }
}

/** An enum field given by name (or number, as proto-loader accepts); unknown names are left out, as proto-loader does. */
export function writeEnum(w: WireWriter, field: number, values: ReadonlyMap<string, number>, value: string | number | undefined): void {
  w.int32(field, typeof value === 'number' ? value : value === undefined ? 0 : (values.get(value) ?? 0));
}
