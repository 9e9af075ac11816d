/**
 * Removes a member from a consumer group on its behalf, as its session timing out would, only
 * without waiting for the session timeout: a LeaveGroup request (version 3, by member id) sent
 * straight to the broker, since kafkajs' admin client has no such call.
 *
 * The tests use it after killing an engine with SIGKILL: the group otherwise waits the engine's
 * 30 s session timeout for the dead member before it lets the restarted one in, and a test that
 * kills an instance several times would spend most of its time waiting.
 */
import { connect } from 'node:net';

const LEAVE_GROUP = 13;
const VERSION = 3;

function string(s: string): Buffer {
  const bytes = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(2);
  len.writeInt16BE(bytes.length);
  return Buffer.concat([len, bytes]);
}

function int16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
}

function int32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

/**
 * Sends LeaveGroup for `memberId` of `groupId` to `broker` (host:port), which must be the group's
 * coordinator (the test broker is the only one). Throws with the Kafka error code on failure.
 */
export async function removeGroupMember(broker: string, groupId: string, memberId: string): Promise<void> {
  const [host, port] = [
    broker.slice(0, broker.lastIndexOf(':')),
    Number(broker.slice(broker.lastIndexOf(':') + 1)),
  ];
  const correlationId = 1;
  const message = Buffer.concat([
    // Request header v1: api key, version, correlation id, client id.
    int16(LEAVE_GROUP),
    int16(VERSION),
    int32(correlationId),
    string('spamgate-test'),
    // LeaveGroupRequest v3: group id, then the members: [member id, group instance id (null)].
    string(groupId),
    int32(1),
    string(memberId),
    int16(-1),
  ]);
  const response = await new Promise<Buffer>((resolve, reject) => {
    const socket = connect({ host, port });
    let received = Buffer.alloc(0);
    socket.setTimeout(10_000, () => socket.destroy(new Error(`no LeaveGroup response from ${broker}`)));
    socket.on('error', reject);
    socket.on('close', () => reject(new Error(`${broker} closed the connection before responding`)));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 4 && received.length >= 4 + received.readInt32BE(0)) {
        resolve(received.subarray(4, 4 + received.readInt32BE(0)));
        socket.end();
      }
    });
    socket.write(Buffer.concat([int32(message.length), message]));
  });
  // Response header v0: correlation id. LeaveGroupResponse v3: throttle time, error code,
  // members: [member id, group instance id, error code].
  if (response.readInt32BE(0) !== correlationId) throw new Error('LeaveGroup: unexpected correlation id');
  const error = response.readInt16BE(8);
  if (error !== 0)
    throw new Error(`LeaveGroup of ${memberId} in ${groupId} failed with Kafka error ${error}`);
  let o = 10;
  const members = response.readInt32BE(o);
  o += 4;
  for (let i = 0; i < members; i++) {
    o += 2 + response.readInt16BE(o); // member id
    const instanceId = response.readInt16BE(o);
    o += 2 + Math.max(0, instanceId);
    const memberError = response.readInt16BE(o);
    o += 2;
    if (memberError !== 0)
      throw new Error(`LeaveGroup of ${memberId} in ${groupId} failed with Kafka error ${memberError}`);
  }
}
