import type { Socket } from 'node:net';

/** Largest control message accepted; the store carries addresses and small values, never tensors. */
const MAX_FRAME = 16 << 20;

/** Writes one length-prefixed (u32 big-endian) JSON message. */
export function writeJsonFrame(socket: Socket, msg: unknown): void {
  const body = Buffer.from(JSON.stringify(msg), 'utf8');
  const head = Buffer.allocUnsafe(4);
  head.writeUInt32BE(body.length, 0);
  socket.cork();
  socket.write(head);
  socket.write(body);
  socket.uncork();
}

/** Feeds socket data in, calls `onMessage` once per complete JSON frame. */
export function jsonFrameReader(onMessage: (msg: unknown) => void, onError: (err: Error) => void) {
  let buf: Buffer = Buffer.alloc(0);
  return (chunk: Buffer) => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (buf.length >= 4) {
      const len = buf.readUInt32BE(0);
      if (len > MAX_FRAME) {
        onError(new Error(`control frame of ${len} bytes exceeds the ${MAX_FRAME}-byte limit`));
        return;
      }
      if (buf.length < 4 + len) return;
      const body = buf.subarray(4, 4 + len);
      buf = buf.subarray(4 + len);
      let msg: unknown;
      try {
        msg = JSON.parse(body.toString('utf8'));
      } catch (err) {
        onError(new Error(`malformed control frame: ${(err as Error).message}`));
        return;
      }
      onMessage(msg);
    }
  };
}
