/** Reading a text/event-stream body (fetch + stream reader: EventSource cannot send the token). */

export interface SseFrame {
  id?: string;
  event?: string;
  retry?: number;
  data?: string;
}

/** Calls onFrame for each dispatched block of the stream, until it ends. */
export async function readSse(body: ReadableStream<Uint8Array>, onFrame: (frame: SseFrame) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let frame: SseFrame = {};
  let data: string[] = [];
  const line = (text: string) => {
    if (text === "") {
      if (data.length || frame.id !== undefined || frame.retry !== undefined) {
        onFrame({ id: frame.id, event: frame.event, retry: frame.retry, data: data.length ? data.join("\n") : undefined });
      }
      frame = {};
      data = [];
      return;
    }
    if (text.startsWith(":")) return; // comment / keepalive
    const colon = text.indexOf(":");
    const name = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (name === "data") data.push(value);
    else if (name === "event") frame.event = value;
    else if (name === "id" && !value.includes("\u0000")) frame.id = value;
    else if (name === "retry" && /^\d+$/.test(value)) frame.retry = Number(value);
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      for (;;) {
        const m = /\r\n|\r|\n/.exec(buffer);
        if (!m) break;
        // A lone CR at the very end may be the first half of CRLF: wait for more input.
        if (m[0] === "\r" && m.index === buffer.length - 1) break;
        line(buffer.slice(0, m.index));
        buffer = buffer.slice(m.index + m[0].length);
      }
    }
  } finally {
    try {
      reader.releaseLock();
    } catch {
      // already released
    }
  }
}
