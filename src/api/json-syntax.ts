/**
 * Locates the first JSON syntax error in a text. `JSON.parse` reports positions inconsistently across Node versions
 * (some messages carry none), and users need a line and a column to fix a file, so this small scanner finds it.
 */

export interface JsonSyntaxError {
  /** Offset of the offending character (the text length for an unexpected end). */
  readonly offset: number;
  readonly message: string;
}

/** Line and column (both 1-based) of an offset in a text. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

class Fail {
  constructor(
    readonly offset: number,
    readonly message: string,
  ) {}
}

/** Returns the first syntax error of `text` as JSON, or undefined when it is valid JSON. */
export function findJsonSyntaxError(text: string): JsonSyntaxError | undefined {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const found = (): string => (i >= text.length ? 'end of input' : JSON.stringify(text[i]));
  const expect = (what: string): never => {
    throw new Fail(i, `expected ${what}, found ${found()}`);
  };
  const str = (): void => {
    i++; // opening quote
    while (i < text.length) {
      const c = text[i] as string;
      if (c === '"') {
        i++;
        return;
      }
      if (c === '\\') {
        const e = text[i + 1];
        if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else if (e === 'u' && /^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) i += 6;
        else throw new Fail(i, 'invalid escape sequence in string');
        continue;
      }
      if (c < ' ') throw new Fail(i, 'control character in string; escape it');
      i++;
    }
    throw new Fail(i, 'unterminated string');
  };
  const value = (depth: number): void => {
    if (depth > 512) throw new Fail(i, 'nesting too deep');
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') expect('a property name in double quotes');
        str();
        ws();
        if (text[i] !== ':') expect("':' after the property name");
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        expect("',' or '}'");
      }
    }
    if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        expect("',' or ']'");
      }
    }
    if (c === '"') return str();
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (m && m[0] !== '' && m[0] !== '-') {
      i += m[0].length;
      return;
    }
    for (const word of ['true', 'false', 'null']) {
      if (text.startsWith(word, i)) {
        i += word.length;
        return;
      }
    }
    expect('a value');
  };
  try {
    value(0);
    ws();
    if (i < text.length) expect('end of input');
    return undefined;
  } catch (e) {
    if (e instanceof Fail) return { offset: e.offset, message: e.message };
    throw e;
  }
}
