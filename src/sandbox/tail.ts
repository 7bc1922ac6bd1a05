/** Keeps the last `limit` characters of a stream, remembering whether anything was dropped. */
export class TailBuffer {
  readonly #limit: number;
  #text = "";
  #dropped = false;

  constructor(limit: number) {
    this.#limit = limit;
  }

  push(chunk: string): void {
    this.#text += chunk;
    if (this.#text.length > this.#limit * 2) this.#trim();
  }

  #trim(): void {
    if (this.#text.length <= this.#limit) return;
    this.#text = this.#text.slice(this.#text.length - this.#limit);
    this.#dropped = true;
  }

  toString(): string {
    this.#trim();
    return this.#dropped ? `[…truncated]\n${this.#text}` : this.#text;
  }
}

export function tail(text: string, limit: number): string {
  const buffer = new TailBuffer(limit);
  buffer.push(text);
  return buffer.toString();
}
