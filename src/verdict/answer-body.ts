import type { Readable } from 'node:stream';

/** What reading a 2xx verdict answer's body came to: its text, or past the limit (read no further). */
export type AnswerBody = { readonly kind: 'text'; readonly text: string } | { readonly kind: 'too_large' };

/**
 * Reads a 2xx answer's body up to `limit` bytes. Past it, the answer is too large for a verdict
 * whatever follows: reading stops there (the stream is destroyed, and the connection with it), so
 * an answer of any size, even one past the pool's response cap, is known as too large, never as
 * cut short. A body that fails before it passes the limit (a clean close before its length, a
 * reset, the deadline) rejects with the transport's error. Decoded as undici's text() does: UTF-8,
 * a leading BOM dropped.
 */
export async function readAnswerBody(body: Readable, limit: number): Promise<AnswerBody> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of body as AsyncIterable<unknown>) {
    const bytes = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    length += bytes.length;
    if (length > limit) {
      body.destroy();
      return { kind: 'too_large' };
    }
    chunks.push(bytes);
  }
  return { kind: 'text', text: new TextDecoder('utf-8').decode(Buffer.concat(chunks, length)) };
}
